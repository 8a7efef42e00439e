-- wrk script for the console: GETs one path with the session cookie of $BENCH_COOKIE and prints one
-- machine-readable RESULT line (p50/p95/p99 in microseconds).

local cookie = os.getenv("BENCH_COOKIE") or ""
local path = os.getenv("BENCH_PATH") or "/"
local headers = { ["Cookie"] = cookie }

function request()
  return wrk.format("GET", path, headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT p50_us=%d p95_us=%d p99_us=%d requests=%d rps=%.1f non2xx=%d sockerr=%d\n",
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.requests,
    summary.requests / (summary.duration / 1e6), e.status, e.connect + e.read + e.write + e.timeout))
end
