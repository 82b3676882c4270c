-- Copied unchanged (apart from these two lines) from /work/shared/bench/peer-op/token.lua, the script the
-- oidc-provider peer benchmark ships, so both servers are measured with the same load script.
-- wrk script: POST client_credentials token requests with HTTP Basic client authentication.
-- Env: CLIENT_ID, CLIENT_SECRET, SCOPE (optional). Usage: wrk -s token.lua TOKEN_URL
local id, secret = os.getenv("CLIENT_ID"), os.getenv("CLIENT_SECRET")
local function b64(data)
  local b = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  return ((data:gsub('.', function(x)
    local r, byte = '', x:byte()
    for i = 8, 1, -1 do r = r .. (byte % 2 ^ i - byte % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local c = 0
    for i = 1, 6 do c = c + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return b:sub(c + 1, c + 1)
  end) .. ({ '', '==', '=' })[#data % 3 + 1])
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. b64(id .. ":" .. secret)
local scope = os.getenv("SCOPE")
wrk.body = "grant_type=client_credentials" .. (scope and scope ~= "" and ("&scope=" .. scope) or "")
local non2xx = 0
function response(status) if status ~= 200 then non2xx = non2xx + 1 end end
function done(summary, latency)
  io.write(string.format("rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
