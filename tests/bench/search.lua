-- wrk script for tests/bench/search.sh: GETs the URL given to wrk (an
-- /agent-customer-search query) with an agent's access token and tallies the
-- response statuses.  Argument (after wrk's "--"): TOKEN, the agent access
-- token sent as "X-Agent-Authorization: Bearer TOKEN".
-- From the first 200 each thread gets it also notes how many customers the
-- page held and the offset in the "last" link (-1: no such link), to check
-- the total the service computed against the script's own count.
-- done() prints one machine-readable line starting with "RESULT".

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   local token = args[1]
   if token == nil or token == "" then
      error("usage: wrk ... -s search.lua URL -- TOKEN")
   end
   wrk.headers["X-Agent-Authorization"] = "Bearer " .. token
   wrk.headers["Accept"] = "application/vnd.api+json"
   s200, s401, s4xx, s5xx, sother = 0, 0, 0, 0, 0
   page_rows, last_offset = -1, -2
end

function response(status, headers, body)
   if status == 200 then
      s200 = s200 + 1
      if last_offset == -2 then
         local _, n = body:gsub('"customerReference":', "")
         page_rows = n
         last_offset = tonumber(body:match('"last":"[^"]-page%[offset%]=(%d+)') or "-1")
      end
   elseif status == 401 then
      s401 = s401 + 1
   elseif status >= 400 and status < 500 then
      s4xx = s4xx + 1
   elseif status >= 500 then
      s5xx = s5xx + 1
   else
      sother = sother + 1
   end
end

function done(summary, latency, requests)
   local t = { s200 = 0, s401 = 0, s4xx = 0, s5xx = 0, sother = 0 }
   local rows, last = -1, -2
   for _, thread in ipairs(threads) do
      for k in pairs(t) do
         t[k] = t[k] + (thread:get(k) or 0)
      end
      local l = thread:get("last_offset") or -2
      if l > last then
         last, rows = l, thread:get("page_rows") or -1
      end
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d s200=%d s401=%d s4xx=%d s5xx=%d sother=%d "
      .. "connect_err=%d read_err=%d write_err=%d timeout_err=%d "
      .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.0f page_rows=%d last_offset=%d\n",
      summary.requests, summary.duration, t.s200, t.s401, t.s4xx, t.s5xx, t.sother,
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean, rows, last))
end
