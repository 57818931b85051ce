-- wrk script for scripts/bench-tiles: requests the paths listed (one per line) in the file given
-- after `--`, each thread starting at its own offset and cycling, with Accept-Encoding: gzip as
-- a browser sends it. Prints one RESULT line for the bench script to parse.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  i = (tid * 7919) % #paths
end

-- onemap answers only signed-in callers: the bench scripts pass an API token in ONEMAP_TOKEN
-- (Martin ignores the header).
local token = os.getenv("ONEMAP_TOKEN")

function request()
  i = i % #paths + 1
  local headers = { ["Accept-Encoding"] = "gzip" }
  if token and #token > 0 then headers["Authorization"] = "Bearer " .. token end
  return wrk.format("GET", paths[i], headers)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
