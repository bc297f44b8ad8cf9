-- wrk: POST /api/v1/checkins, each request with a pass never used before, read from the file
-- $HC_PASSES (one token per line) and shared out between wrk's threads. A thread that runs out
-- sends "exhausted", which the server refuses (non-2xx): the benchmark then reports it.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local threads = tonumber(os.getenv("HC_WRK_THREADS") or "2")
  tokens = {}
  local i = 0
  for line in io.lines(os.getenv("HC_PASSES")) do
    if line:sub(1, 5) == "HCP1." then
      if i % threads == id then tokens[#tokens + 1] = line end
      i = i + 1
    end
  end
  index = 0
  auth = "Bearer " .. os.getenv("HC_KIOSK_TOKEN")
end

function request()
  index = index + 1
  local token = tokens[index] or "exhausted"
  return wrk.format("POST", "/api/v1/checkins", {["Content-Type"] = "application/json", ["Authorization"] = auth}, '{"token":"' .. token .. '"}')
end
