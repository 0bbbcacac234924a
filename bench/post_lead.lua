-- POST a new lead with a random UAE mobile number (so rows are inserted, not merged).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time())
request = function()
  local phone = string.format("+97150%07d", math.random(0, 9999999))
  local body = '{"name":"Bench Lead","phone":"' .. phone .. '","source":"bayut","budget_aed":1800000}'
  return wrk.format(nil, nil, nil, body)
end
