-- wrk: POST /api/v1/prechecks with a feverish adult's answers and a location (Authorization from -H).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"questionnaireVersion":1,"location":{"lat":31.2118,"lng":121.4706},"answers":{"temperature":38.6,"feverDays":1,'
  .. '"cough":true,"soreThroat":false,"dyspnoea":false,"lossOfSmellTaste":false,"contactWithCase":false,"riskAreaStay":false,'
  .. '"cluster":"none","age":34,"pregnant":false,"immunosuppressed":false}}'
