// A webhook receiver that accepts only what the npm standardwebhooks
// verifier accepts. It prints its URL, then counts verified deliveries by
// kind (notification, cloudevent, audit batch, audit checkpoint) and
// refusals; GET /summary answers the counts as JSON.
// Usage: node webhook-receiver.mjs WHSEC_SECRET
import http from "node:http";
import { Webhook } from "standardwebhooks";

const wh = new Webhook(process.argv[2]);
const counts = { notification: 0, cloudevent: 0, audit_batch: 0, audit_checkpoint: 0, refused: 0, replay_refused: 0 };
const errors = [];

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/summary") {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ counts, errors: errors.slice(0, 5) }));
    return;
  }
  const chunks = [];
  req.on("data", c => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const headers = {
      "webhook-id": req.headers["webhook-id"] ?? "",
      "webhook-timestamp": req.headers["webhook-timestamp"] ?? "",
      "webhook-signature": req.headers["webhook-signature"] ?? "",
    };
    let doc;
    try {
      doc = wh.verify(body, headers);
    } catch (e) {
      counts.refused++;
      errors.push(`${req.url}: ${e.message}`);
      res.statusCode = 401;
      res.end();
      return;
    }
    // The same delivery signed an hour earlier must be refused.
    try {
      wh.verify(body, { ...headers, "webhook-timestamp": String(Number(headers["webhook-timestamp"]) - 3600) });
    } catch {
      counts.replay_refused++;
    }
    if (doc.specversion === "1.0") counts.cloudevent++;
    else if (doc.type === "checkpoint") counts.audit_checkpoint++;
    else if (Array.isArray(doc.entries)) counts.audit_batch++;
    else counts.notification++;
    res.end();
  });
});
server.listen(0, "127.0.0.1", () => console.log(`http://127.0.0.1:${server.address().port}`));
