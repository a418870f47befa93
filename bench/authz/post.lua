-- Requests are pre-formatted in init, where wrk has already set the Host
-- header. WRK_TOKEN adds a bearer token (Steward); WRK_WRAP=1 wraps the
-- body as {"input": …} (OPA).
local reqs, i = {}, 0
function init(args)
  local path = os.getenv("WRK_PATH") or "/access/v1/evaluation"
  local wrap = os.getenv("WRK_WRAP") == "1"
  local headers = {["Content-Type"] = "application/json"}
  local token = os.getenv("WRK_TOKEN") or ""
  if token ~= "" then headers["Authorization"] = "Bearer " .. token end
  for line in io.lines(os.getenv("WRK_REQS") or "gen/requests.jsonl") do
    if wrap then line = '{"input":' .. line .. '}' end
    reqs[#reqs + 1] = wrk.format("POST", path, headers, line)
  end
end
function request() i = i % #reqs + 1; return reqs[i] end
