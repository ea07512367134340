-- wrk script for the load benchmark: POSTs the file in BODY_FILE with the headers in HEADERS
-- ("Name: value" pairs separated by "|"), and prints one machine-readable RESULT line at the end.
local function read_all(path)
  local file = assert(io.open(path, "rb"), "cannot open BODY_FILE " .. tostring(path))
  local body = file:read("*a")
  file:close()
  return body
end

wrk.method = "POST"
wrk.body = read_all(os.getenv("BODY_FILE"))
wrk.headers["Content-Type"] = "application/json"
for pair in string.gmatch(os.getenv("HEADERS") or "", "[^|]+") do
  local name, value = string.match(pair, "^%s*([^:]+):%s*(.-)%s*$")
  if name then
    wrk.headers[name] = value
  end
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d rps=%.0f p50_us=%.0f p90_us=%.0f p99_us=%.0f max_us=%.0f non2xx=%d connect_err=%d read_err=%d write_err=%d timeout_err=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors.status, errors.connect, errors.read, errors.write, errors.timeout))
end
