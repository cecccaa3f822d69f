-- wrk script for bench._http.blast: post the JSON bodies of the file named after `--`, one a line,
-- round robin, and print the run's figures as one JSON line (latencies in microseconds).
local bodies = {}
local next_body = 0

init = function(args)
  for line in io.lines(args[1]) do
    bodies[#bodies + 1] = line
  end
end

request = function()
  next_body = next_body % #bodies + 1
  return wrk.format("POST", nil, nil, bodies[next_body])
end

done = function(summary, latency, requests)
  local failed = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format('{"requests": %d, "seconds": %.6f, "failed": %d, "refused": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration / 1e6, failed, summary.errors.status, latency:percentile(50), latency:percentile(99)))
end
