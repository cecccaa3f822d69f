-- wrk script for bench._http.blast, blast_gets and blast_in_order: send one request per line of the
-- file named after `--`, round robin: with POST (the second argument) each line is a body posted to
-- the URL, with GET each line is a path. A tab in a line stands for a newline of the body. With
-- "in-order" (the third argument) each thread, holding one connection, reads its own file (the name
-- followed by "." and the thread's number from 1) and sends its lines in turn, once; past its last
-- line it sends the last again. It moves to the next line on an answer, not when a request is made:
-- wrk makes one request of the first thread before the run starts, which it never sends.
-- Prints the run's figures as one JSON line (latencies in microseconds).
local lines = {}
local method = "GET"
local in_order = false
local next_line = 0
local threads = 0

setup = function(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

init = function(args)
  in_order = args[3] == "in-order"
  local path = args[1]
  if in_order then
    path = path .. "." .. thread_number
  end
  for line in io.lines(path) do
    lines[#lines + 1] = (line:gsub("\t", "\n"))
  end
  method = args[2] or method
  if in_order then
    next_line = 1
    response = function()
      next_line = math.min(next_line + 1, #lines)
    end
  end
end

request = function()
  if not in_order then
    next_line = next_line % #lines + 1
  end
  if method == "POST" then
    return wrk.format("POST", nil, nil, lines[next_line])
  end
  return wrk.format("GET", lines[next_line])
end

done = function(summary, latency, requests)
  local failed = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"requests": %d, "seconds": %.6f, "failed": %d, "refused": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration / 1e6, failed, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
