-- The request mix of bench/load_bench.py for wrk: about nine reads to one write.
-- Reads: case lists (plain, filtered, name search), one case, the change feed, a static
-- file. Writes: a stated intention recorded through the API. Every request carries the
-- API token from LOAD_TOKEN; case uuids come from LOAD_CASES (comma-separated).

local token = os.getenv("LOAD_TOKEN")
local static = os.getenv("LOAD_STATIC")
local cases = {}
for uuid in string.gmatch(os.getenv("LOAD_CASES"), "[^,]+") do
  cases[#cases + 1] = uuid
end

local reads = {
  "/api/v1/cases/",
  "/api/v1/cases/?status=interned",
  "/api/v1/cases/?current_intention=return_home&intention_verified=false",
  "/api/v1/cases/?request_kind=exchange_inclusion&request_status=executed",
  "/api/v1/cases/?q=Lee",
  "/api/v1/cases/?ordering=-updated_at&page=3",
  "/api/v1/events/?limit=100",
  static,
}

local writes = 0
local thread_list = {}

function setup(thread)
  thread_list[#thread_list + 1] = thread
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

local function headers()
  return { ["Authorization"] = "Token " .. token, ["Accept"] = "application/json" }
end

function request()
  local pick = math.random(10)
  local case = cases[math.random(#cases)]
  if pick == 1 then
    writes = writes + 1
    local h = headers()
    h["Content-Type"] = "application/json"
    local body = '{"case": "' .. case .. '", "option": "undecided", "stated_on": "2025-04-01", '
      .. '"setting": "legislator_interview", "verification": "stated", "reason": "load test"}'
    return wrk.format("POST", "/api/v1/intentions/", h, body)
  elseif pick == 2 then
    return wrk.format("GET", "/api/v1/cases/" .. case .. "/", headers())
  end
  return wrk.format("GET", reads[math.random(#reads)], headers())
end

function done(summary, latency, requests)
  local all_writes = 0
  for _, thread in ipairs(thread_list) do
    all_writes = all_writes + (thread:get("writes") or 0)
  end
  io.write('LOADMIX {"writes": ' .. all_writes .. "}\n")
end
