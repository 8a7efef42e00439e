-- wrk script: GET $BENCH_PREFIX .. <key>, the key drawn at random for each request from the file $BENCH_KEYS (one
-- key a line, URL-safe), with `Authorization: Bearer $BENCH_TOKEN` when set; prints one machine-readable RESULT
-- line at the end (the same as rotate.lua's).

local prefix = os.getenv("BENCH_PREFIX") or error("BENCH_PREFIX is not set")
local keys = {}
local headers = {}

local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  headers["Authorization"] = "Bearer " .. token
end

for line in io.lines(os.getenv("BENCH_KEYS")) do
  if line ~= "" then
    keys[#keys + 1] = line
  end
end
if #keys == 0 then
  error("no keys in " .. tostring(os.getenv("BENCH_KEYS")))
end

local thread_no = 0
function setup(thread)
  thread:set("tid", thread_no)
  thread_no = thread_no + 1
end

function init(args)
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
end

function request()
  return wrk.format("GET", prefix .. keys[math.random(#keys)], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.0f requests=%d rps=%.1f non2xx=%d sockerr=%d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    summary.requests, summary.requests / (summary.duration / 1e6), e.status,
    e.connect + e.read + e.write + e.timeout))
end
