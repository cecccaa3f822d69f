-- wrk script for bench._http.blast_gets: GET the paths of the file named after `--`, one a line,
-- round robin, and print the run's figures as one JSON line (latencies in microseconds).
local paths = {}
local next_path = 0

init = function(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
end

request = function()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end

done = function(summary, latency, requests)
  local failed = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"requests": %d, "seconds": %.6f, "failed": %d, "refused": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration / 1e6, failed, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
