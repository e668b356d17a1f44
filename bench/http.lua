-- wrk script: GET or PATCH one random resource per request.
-- Environment: IDS (a file with one uuid per line), RESOURCE (e.g. /bench_article),
-- METHOD (GET or PATCH), TOKEN (a JWT, for PATCH).
local ids = {}
local resource = os.getenv("RESOURCE")
local method = os.getenv("METHOD") or "GET"
local token = os.getenv("TOKEN")

for line in io.lines(os.getenv("IDS")) do
  ids[#ids + 1] = line
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

function request()
  local id = ids[math.random(#ids)]
  local path = resource .. "?id=eq." .. id
  if method == "PATCH" then
    return wrk.format("PATCH", path, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, '{"views": ' .. math.random(1000000) .. '}')
  end
  return wrk.format("GET", path)
end

function response(status, headers, body)
  if status >= 300 then
    print("unexpected status " .. status .. ": " .. body)
    os.exit(1)
  end
end
