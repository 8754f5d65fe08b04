-- wrk script for tests/bench/login.sh: POSTs JSON:API logins and tallies the
-- response statuses.  Arguments (after wrk's "--"):
--   USERNAME_FORMAT  a string.format pattern with one %d, e.g. bench-%d@example.com
--   USERS            how many agents the pattern names (numbered 1..USERS)
--   PASSWORD
--   MODE             optional: "locked" sends every request for agent 1 from
--                    198.19.255.254, an address the script has locked out
-- Each request names the next agent and carries an X-Forwarded-For address
-- from 198.18.0.0/15 (RFC 2544's benchmarking range), so that lock-out
-- counters per username, per client IP and per pair stay low when the pool
-- trusts the local nginx as a proxy; the work per request is the same.
-- done() prints one machine-readable line starting with "RESULT".

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local function json_string(s)
   return '"' .. s:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
   end) .. '"'
end

local fmt, users, password, mode, n

function init(args)
   fmt, users, password, mode = args[1], tonumber(args[2]), args[3], args[4]
   if fmt == nil or users == nil or users < 1 or password == nil then
      error("usage: wrk ... -s login.lua URL -- USERNAME_FORMAT USERS PASSWORD")
   end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/vnd.api+json"
   wrk.headers["Accept"] = "application/vnd.api+json"
   -- threads start at different agents and addresses
   n = id * 7919
   s201, s401, s429, s5xx, sother = 0, 0, 0, 0, 0
end

function request()
   n = n + 1
   local username = string.format(fmt, n % users + 1)
   local a = n % 131071 + 1
   wrk.headers["X-Forwarded-For"] = string.format("198.%d.%d.%d",
      18 + math.floor(a / 65536), math.floor(a / 256) % 256, a % 256)
   if mode == "locked" then
      username = string.format(fmt, 1)
      wrk.headers["X-Forwarded-For"] = "198.19.255.254"
   end
   return wrk.format(nil, nil, nil,
      '{"data":{"type":"agent-access-tokens","attributes":{"username":'
      .. json_string(username) .. ',"password":' .. json_string(password) .. '}}}')
end

function response(status, headers, body)
   if status == 201 then
      s201 = s201 + 1
   elseif status == 401 then
      s401 = s401 + 1
   elseif status == 429 then
      s429 = s429 + 1
   elseif status >= 500 then
      s5xx = s5xx + 1
   else
      sother = sother + 1
   end
end

function done(summary, latency, requests)
   local t = { s201 = 0, s401 = 0, s429 = 0, s5xx = 0, sother = 0 }
   for _, thread in ipairs(threads) do
      for k in pairs(t) do
         t[k] = t[k] + (thread:get(k) or 0)
      end
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d s201=%d s401=%d s429=%d s5xx=%d sother=%d "
      .. "connect_err=%d read_err=%d write_err=%d timeout_err=%d "
      .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.0f\n",
      summary.requests, summary.duration, t.s201, t.s401, t.s429, t.s5xx, t.sother,
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
