-- wrk script: rotates over the request paths of the file $BENCH_PATHS (one path a line, already URL-encoded),
-- with `Authorization: Bearer $BENCH_TOKEN` when set, and prints one machine-readable RESULT line at the end.

local paths = {}
local idx = 0
local headers = {}

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end

local file = os.getenv("BENCH_PATHS")
for line in io.lines(file) do
  if line ~= "" then
    paths[#paths + 1] = line
  end
end
if #paths == 0 then
  error("no paths in " .. tostring(file))
end

local thread_no = 0
function setup(thread)
  thread:set("start", thread_no)
  thread_no = thread_no + 1
end

function init(args)
  -- Each thread starts at a different path so that concurrent connections mix the queries.
  idx = (start or 0) * 3
end

function request()
  idx = idx % #paths + 1
  return wrk.format("GET", paths[idx], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.0f requests=%d rps=%.1f non2xx=%d sockerr=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    summary.requests, summary.requests / (summary.duration / 1e6), e.status,
    e.connect + e.read + e.write + e.timeout))
end
