-- wrk script for bench._http.blast and blast_gets: send one request per line of the file named after
-- `--`, round robin: with POST (the second argument) each line is a JSON body posted to the URL, with
-- GET each line is a path. Prints the run's figures as one JSON line (latencies in microseconds).
local lines = {}
local method = "GET"
local next_line = 0

init = function(args)
  for line in io.lines(args[1]) do
    lines[#lines + 1] = line
  end
  method = args[2] or method
end

request = function()
  next_line = next_line % #lines + 1
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
