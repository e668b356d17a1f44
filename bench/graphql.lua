-- wrk script for the GraphQL benchmark (bench/bench.py, part graphql): one request per call
-- with a random id from IDS put in place of {ID} — a GET of PATH, or, when BODY is set, a POST
-- of BODY to PATH. Any status >= 300 or a GraphQL "errors" key stops the run.
local ids = {}
local path = os.getenv("PATH_TEMPLATE")
local body = os.getenv("BODY")

for line in io.lines(os.getenv("IDS")) do
  ids[#ids + 1] = line
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  local id = ids[math.random(#ids)]
  if body then
    return wrk.format("POST", path, {["Content-Type"] = "application/json"}, (body:gsub("{ID}", id)))
  end
  return wrk.format("GET", (path:gsub("{ID}", id)))
end

function response(status, headers, b)
  if status >= 300 or b:find('"errors"', 1, true) then
    print("unexpected response " .. status .. ": " .. b)
    os.exit(1)
  end
end
