-- wrk script for tests/bench/api.sh: one scenario of the API per run, chosen
-- by the environment variable API_SCENARIO.  The URL given to wrk is the
-- mount point (http://127.0.0.1:PORT/auth); the paths and bodies are those
-- of doc/api.md.
--
--   health            GET /health
--   jwks              GET /.well-known/jwks.json
--   search_exact      GET /agent-customer-search?q=REF, REF a line of API_LIST
--                     (references of live customers), one at random per request
--   search_selective  the same with a line of API_LIST (email local parts of
--                     random customers) as the prefix
--   search_broad      GET /agent-customer-search?q=a
--   impersonate       POST /agent-customer-impersonation-access-tokens with
--                     a customerReference from API_LIST
--   refresh           POST /refresh-tokens; see below
--   login_ok          POST /agent-access-tokens, API_USER / API_PASSWORD, a
--                     random X-Forwarded-For 10.x.y.z per request (only a
--                     header: the pool trusts nginx and counts the attempt
--                     for that address; nothing is sent there)
--   login_bad         the same with API_PASSWORD .. "-wrong"
--   login_locked      the same as login_ok from X-Forwarded-For API_LOCK_IP,
--                     whose pair with API_USER api.sh has locked out
--
-- Other variables: API_TOKEN (the agent access token, sent as
-- X-Agent-Authorization: Bearer), API_EXPECT (the status every answer must
-- have), API_THREADS (wrk's -t, to split the refresh tokens), API_TALLY.
--
-- Statuses: each thread tallies them in response(), unless API_TALLY=0.
-- A response() function makes wrk hand every answer to Lua (a table of its
-- headers, its body), which costs wrk about 15 % of its rate at 10 000
-- answers/s, CPU taken from the server on a 2-core machine; with API_TALLY=0
-- there is none, and the only check left is wrk's own count of statuses of
-- 400 and above (api.sh tallies the warm-up of such a run instead).  refresh
-- always tallies: it reads each answer.
--
-- refresh: every request must present a refresh token never used before.
-- API_LIST holds tokens from logins made before the run; thread k takes the
-- lines k, k + API_THREADS, ...  Each 201 carries the next token of its
-- session (rotation), which the response handler puts on the thread's
-- stack, and request() takes the top of the stack: a connection's next
-- request presents the token its last answer returned, and the seeded
-- tokens are the reserve for answers that carried none.  An empty stack
-- sends "exhausted", which gets 401 and so counts against the check.
--
-- Each thread tallies the statuses (see API_TALLY); done() prints one line
-- starting with "RESULT" for api.sh (statuses as STATUS:COUNT,...).

local scenario = os.getenv("API_SCENARIO") or ""
local expect = tonumber(os.getenv("API_EXPECT") or "")
local token = os.getenv("API_TOKEN") or ""
local nthreads = tonumber(os.getenv("API_THREADS") or "1")
local user = os.getenv("API_USER") or ""
local password = os.getenv("API_PASSWORD") or ""
local lock_ip = os.getenv("API_LOCK_IP") or ""
local JSONAPI = "application/vnd.api+json"

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

local base = wrk.path:gsub("/+$", "")
local list = {}
statuses = {}   -- global: done() reads each thread's with thread:get

local function read_list(mine)
   local file = os.getenv("API_LIST") or ""
   if file == "" then
      error(scenario .. " needs API_LIST")
   end
   local i = 0
   for line in io.lines(file) do
      if line ~= "" then
         if mine(i) then
            list[#list + 1] = line
         end
         i = i + 1
      end
   end
   if #list == 0 then
      error(file .. " gave this thread nothing")
   end
end

local function pick()
   return list[math.random(#list)]
end

local function urlencode(s)
   return (s:gsub("[^%w%-%._~]", function(c)
      return string.format("%%%02X", c:byte())
   end))
end

local function json_string(s)
   return '"' .. s:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
   end) .. '"'
end

local function login_body(pass)
   return '{"data":{"type":"agent-access-tokens","attributes":{"username":'
      .. json_string(user) .. ',"password":' .. json_string(pass) .. '}}}'
end

local agent = { ["Accept"] = JSONAPI, ["X-Agent-Authorization"] = "Bearer " .. token }
local post = { ["Accept"] = JSONAPI, ["Content-Type"] = JSONAPI }
local impersonate_headers = { ["Accept"] = JSONAPI, ["Content-Type"] = JSONAPI,
   ["X-Agent-Authorization"] = "Bearer " .. token }

local function search(q)
   return wrk.format("GET", base .. "/agent-customer-search?q=" .. urlencode(q), agent)
end

local stack = {}
local requests = {
   health = function()
      return wrk.format("GET", base .. "/health")
   end,
   jwks = function()
      return wrk.format("GET", base .. "/.well-known/jwks.json")
   end,
   search_exact = function()
      return search(pick())
   end,
   search_selective = function()
      return search(pick())
   end,
   search_broad = function()
      return search("a")
   end,
   impersonate = function()
      return wrk.format("POST", base .. "/agent-customer-impersonation-access-tokens",
         impersonate_headers,
         '{"data":{"type":"agent-customer-impersonation-access-tokens","attributes":'
         .. '{"customerReference":' .. json_string(pick()) .. ',"reason":"api.sh"}}}')
   end,
   refresh = function()
      local t = table.remove(stack) or "exhausted"
      return wrk.format("POST", base .. "/refresh-tokens", post,
         '{"data":{"type":"refresh-tokens","attributes":{"refreshToken":'
         .. json_string(t) .. '}}}')
   end,
   login_ok = function()
      post["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 255),
         math.random(0, 255), math.random(1, 254))
      return wrk.format("POST", base .. "/agent-access-tokens", post, login_body(password))
   end,
   login_bad = function()
      post["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.random(0, 255),
         math.random(0, 255), math.random(1, 254))
      return wrk.format("POST", base .. "/agent-access-tokens", post,
         login_body(password .. "-wrong"))
   end,
   login_locked = function()
      post["X-Forwarded-For"] = lock_ip
      return wrk.format("POST", base .. "/agent-access-tokens", post, login_body(password))
   end,
}

if requests[scenario] == nil then
   error("API_SCENARIO: unknown scenario '" .. scenario .. "'")
end
if expect == nil then
   error("API_EXPECT: not a status")
end
-- a global function at load time: wrk then asks it for every request
request = requests[scenario]

function init(args)
   math.randomseed(os.time() + 7919 * (id + 1))
   if scenario == "refresh" then
      read_list(function(i) return i % nthreads == id end)
      stack, list = list, {}
   elseif scenario == "search_exact" or scenario == "search_selective"
      or scenario == "impersonate" then
      read_list(function() return true end)
   end
end

local tally = os.getenv("API_TALLY") ~= "0"
if not tally and (scenario == "refresh" or expect >= 300) then
   error("API_TALLY=0 is for scenarios that expect a 2xx, refresh excepted")
end
if tally then
   function response(status, headers, body)
      statuses[status] = (statuses[status] or 0) + 1
      if scenario == "refresh" and status == 201 then
         local t = body:match('"refreshToken":"([^"]+)"')
         if t then
            stack[#stack + 1] = t
         end
      end
   end
end

function done(summary, latency, requests)
   local all, keys, out = {}, {}, {}
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses") or {}) do
         all[status] = (all[status] or 0) + n
      end
   end
   local e = summary.errors
   local n2xx, nexpect = 0, all[expect] or 0
   if not tally then
      -- wrk counts the statuses of 400 and above, nothing else
      n2xx, nexpect = summary.requests - e.status, summary.requests - e.status
      out[1] = "untallied"
   end
   for status, n in pairs(all) do
      keys[#keys + 1] = status
      if status >= 200 and status < 300 then
         n2xx = n2xx + n
      end
   end
   table.sort(keys)
   for _, status in ipairs(keys) do
      out[#out + 1] = status .. ":" .. all[status]
   end
   io.write(string.format(
      "RESULT requests=%d duration_us=%d expected=%d non2xx=%d statuses=%s "
      .. "connect_err=%d read_err=%d write_err=%d timeout_err=%d "
      .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.0f\n",
      summary.requests, summary.duration, nexpect, summary.requests - n2xx,
      #out > 0 and table.concat(out, ",") or "-",
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, latency.mean))
end
