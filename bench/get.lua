-- wrk script: plain GET load (discovery, JWKS) with the same one-line summary as token.lua.
-- Usage: wrk -s get.lua URL
local non2xx = 0
function response(status) if status ~= 200 then non2xx = non2xx + 1 end end
function done(summary, latency)
  io.write(string.format("rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
