-- The request mix of bench/load_bench.py for wrk: about nine reads to one write.
--
-- Reads: case lists (plain, filtered, name search, a later page), one case, the change
-- feed and a static file. Writes, about half each: a stated intention recorded on a case
-- (POST intentions/), and a request moved one status on (POST requests/{uuid}/transition/
-- with If-Match), or filed (POST requests/) when the thread has none free to move. Every
-- request carries the API token from LOAD_TOKEN; open cases' uuids come from LOAD_CASES
-- (comma-separated) and the party requests are addressed to from LOAD_PARTY.
--
-- Moving a request needs its current version: each wrk thread keeps its own requests (a
-- thread's Lua state is its own, so no two threads touch one request), files a new one
-- through the API when none is free (at most five filings under way per thread), and sends
-- a request's next move only after the answer to its previous one has come back, with the
-- version from that answer's ETag. A 412 would therefore be a bug here, not expected load.

local token = os.getenv("LOAD_TOKEN")
local static = os.getenv("LOAD_STATIC")
local party = os.getenv("LOAD_PARTY")
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

-- The statuses a medical-treatment request moves through (cases/transitions.py).
local next_status = {
  filed = "acknowledged",
  acknowledged = "under_review",
  under_review = "accepted",
  accepted = "scheduled",
  scheduled = "executed",
}

-- Globals, so that done() can read them from each thread with thread:get().
intentions = 0 -- intentions recorded
filings = 0 -- requests filed
moves = 0 -- request transitions sent
statics = 0 -- static files asked for (WhiteNoise answers them before the request log)
statuses = {} -- HTTP status -> count
filed = 0 -- requests filed (201)
moved = 0 -- requests moved on (200)
lost = 0 -- answers to a request write that could not be matched to a known request

-- This thread's requests: uuid -> {status = ..., version = ..., busy = bool}.
local owned = {}
local filing = 0 -- filings under way in this thread (at most five at a time)

local thread_list = {}

function setup(thread)
  thread_list[#thread_list + 1] = thread
end

function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + #tostring({}))
end

local function headers()
  return { ["Authorization"] = "Token " .. token, ["Accept"] = "application/json" }
end

local function json_headers()
  local h = headers()
  h["Content-Type"] = "application/json"
  return h
end

local function free_request()
  for uuid, row in pairs(owned) do
    if not row.busy and next_status[row.status] then
      return uuid, row
    end
  end
  return nil
end

local function record_intention(case)
  intentions = intentions + 1
  local body = '{"case": "' .. case .. '", "option": "undecided", "stated_on": "2025-04-01", '
    .. '"setting": "legislator_interview", "verification": "stated", "reason": "load test"}'
  return wrk.format("POST", "/api/v1/intentions/", json_headers(), body)
end

local function move_request(case)
  local uuid, row = free_request()
  if uuid then
    moves = moves + 1
    row.busy = true
    local h = json_headers()
    h["If-Match"] = '"' .. row.version .. '"'
    local body = '{"status": "' .. next_status[row.status] .. '", "reason": "load test"}'
    return wrk.format("POST", "/api/v1/requests/" .. uuid .. "/transition/", h, body)
  end
  if filing >= 5 then
    return record_intention(case)
  end
  filing = filing + 1
  filings = filings + 1
  local body = '{"case": "' .. case .. '", "kind": "medical_treatment", "addressed_to": "'
    .. party .. '", "reason": "load test"}'
  return wrk.format("POST", "/api/v1/requests/", json_headers(), body)
end

function request()
  local pick = math.random(20)
  local case = cases[math.random(#cases)]
  if pick == 1 then
    return record_intention(case)
  elseif pick == 2 then
    return move_request(case)
  elseif pick <= 4 then
    return wrk.format("GET", "/api/v1/cases/" .. case .. "/", headers())
  end
  local path = reads[math.random(#reads)]
  if path == static then
    statics = statics + 1
  end
  return wrk.format("GET", path, headers())
end

local function header(headers, name)
  for key, value in pairs(headers) do
    if string.lower(key) == name then
      return value
    end
  end
  return nil
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  -- Follow only answers that are a request row: their top level (before the first nested
  -- object) holds the request's url. A case's page lists its requests deeper down.
  local head = body and string.match(body, "^{[^{%[]*") or ""
  local uuid = string.match(head, "/api/v1/requests/([0-9a-f%-]+)/")
  if not uuid then
    return
  end
  local version = tonumber(string.match(header(headers, "etag") or "", "(%d+)"))
  local row = owned[uuid]
  if row == nil then
    if status == 201 then -- a request this thread has just filed
      filing = filing - 1
      filed = filed + 1
      owned[uuid] = { status = "filed", version = version, busy = false }
    else
      lost = lost + 1
    end
  elseif status == 200 and version then
    moved = moved + 1
    row.status = next_status[row.status]
    row.version = version
    row.busy = false
    if not next_status[row.status] then
      owned[uuid] = nil -- executed: nothing more to move
    end
  end
end

function done(summary, latency, requests)
  local totals =
    { intentions = 0, filings = 0, moves = 0, statics = 0, filed = 0, moved = 0, lost = 0 }
  local seen = {}
  for _, thread in ipairs(thread_list) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
    for code, count in pairs(thread:get("statuses") or {}) do
      seen[code] = (seen[code] or 0) + count
    end
  end
  local parts = {}
  for code, count in pairs(seen) do
    parts[#parts + 1] = '"' .. code .. '": ' .. count
  end
  io.write(
    'LOADMIX {"writes": ' .. (totals.intentions + totals.filings + totals.moves)
      .. ', "intentions": ' .. totals.intentions
      .. ', "filings": ' .. totals.filings
      .. ', "moves": ' .. totals.moves
      .. ', "filed": ' .. totals.filed
      .. ', "moved": ' .. totals.moved
      .. ', "statics": ' .. totals.statics
      .. ', "lost": ' .. totals.lost
      .. ', "statuses": {' .. table.concat(parts, ", ") .. "}}\n"
  )
end
