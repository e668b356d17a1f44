-- wrk script: one request per call, for a random id from IDS (a file with one uuid per line).
-- Either RESOURCE (e.g. /bench_article) and METHOD: GET or PATCH that resource by id (PATCH
-- with the JWT in TOKEN); or PATH_TEMPLATE, with {ID} in place of the id: GET it, or POST
-- BODY (with {ID} too) when BODY is set (GraphQL). A status >= 300, or a GraphQL "errors"
-- key, stops the run.
local ids = {}
local resource = os.getenv("RESOURCE")
local method = os.getenv("METHOD") or "GET"
local token = os.getenv("TOKEN")
local template = os.getenv("PATH_TEMPLATE")
local body = os.getenv("BODY")

for line in io.lines(os.getenv("IDS")) do
  ids[#ids + 1] = line
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  local id = ids[math.random(#ids)]
  if template then
    if body then
      return wrk.format("POST", template, {["Content-Type"] = "application/json"}, (body:gsub("{ID}", id)))
    end
    return wrk.format("GET", (template:gsub("{ID}", id)))
  end
  local path = resource .. "?id=eq." .. id
  if method == "PATCH" then
    return wrk.format("PATCH", path, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, '{"views": ' .. math.random(1000000) .. '}')
  end
  return wrk.format("GET", path)
end

function response(status, headers, b)
  if status >= 300 or (body and b:find('"errors"', 1, true)) then
    print("unexpected response " .. status .. ": " .. b)
    os.exit(1)
  end
end
