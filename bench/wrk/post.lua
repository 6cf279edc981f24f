-- wrk script of gemgate's benchmark: POSTs BENCH_BODY to the URL's path with BENCH_HEADERS
-- ("Name: value" lines separated by "\n"), optionally rotating the x-goog-api-key over
-- BENCH_ROTATE_KEYS (comma separated) per request; at the end prints one line of JSON
-- ("BENCHJSON {...}") with counts, errors and latency percentiles in microseconds.  errors.status
-- counts answers with a status >= 400.  (No response() hook: it would make wrk hand every body
-- to Lua and slow the load generator down.)
local body = os.getenv("BENCH_BODY") or "{}"
local hdrs = os.getenv("BENCH_HEADERS") or ""
local rotate = os.getenv("BENCH_ROTATE_KEYS") or ""

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
for line in string.gmatch(hdrs, "[^\n]+") do
  local name, value = string.match(line, "^%s*([^:]+):%s*(.-)%s*$")
  if name then wrk.headers[name] = value end
end

local keys = {}
for k in string.gmatch(rotate, "[^,]+") do keys[#keys + 1] = k end
local reqs = {}
if #keys > 0 then
  -- built in init(): only then does wrk know the host, which wrk.format() puts in "Host"
  init = function(args)
    for i, k in ipairs(keys) do
      wrk.headers["x-goog-api-key"] = k
      reqs[i] = wrk.format()
    end
  end
  local n = 0
  request = function()
    n = n % #reqs + 1
    return reqs[n]
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local p = {}
  for _, q in ipairs({ 50, 75, 90, 95, 99, 99.9, 99.99 }) do
    p[#p + 1] = string.format('"%s":%d', tostring(q), latency:percentile(q))
  end
  io.write(string.format(
    'BENCHJSON {"duration_us":%d,"requests":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,"p":{%s}}}\n',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev, table.concat(p, ",")))
end
