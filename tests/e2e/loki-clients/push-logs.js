// Push log lines to a Loki push endpoint with a real client library, over mTLS.
// Used by tests/e2e/test_loki_clients.py.
//
//   node push-logs.js CONFIG_JSON
//
// CONFIG_JSON: {"client": "winston-proto" | "winston-json" | "pino",
//               "url": "https://127.0.0.1:PORT", "cert": F, "key": F, "ca": F,
//               "count": N, "rounds": R, "run": "ID", "spoof": "TENANT"}
// Sends COUNT lines in ROUNDS flushed batches, labels {app, run, tenant: SPOOF} and the header
// X-Scope-OrgID: SPOOF (both must change nothing at the backend). Prints one JSON line
// {"sent": N, "errors": [...]} and exits 0 only if every push was answered 2xx.
'use strict'

const fs = require('fs')
const https = require('https')

const cfg = JSON.parse(process.argv[2])
const cert = fs.readFileSync(cfg.cert)
const key = fs.readFileSync(cfg.key)
const ca = fs.readFileSync(cfg.ca)
const rounds = cfg.rounds || 1
const errors = []

function lineText (i) {
  // Plain ASCII, multi-byte UTF-8, characters JSON must escape, and a long line now and then.
  const extra = i % 10 === 3 ? ' ' + 'x'.repeat(2000) : ''
  return `run=${cfg.run} line ${i} "quoted" back\\slash caf\u00e9 \u2713 \ud834\udd1e${extra}`
}

async function winston (json) {
  const { createLogger, format } = require('winston')
  const LokiTransport = require('winston-loki')
  const agent = new https.Agent({ cert, key, ca, keepAlive: true })
  const transport = new LokiTransport({
    host: cfg.url,
    json,
    batching: true,
    interval: 3600, // flushed explicitly below
    gracefulShutdown: false,
    timeout: 10000,
    labels: { app: json ? 'winston-json' : 'winston-proto', run: cfg.run, tenant: cfg.spoof },
    headers: { 'X-Scope-OrgID': cfg.spoof },
    httpsAgent: agent,
    clearOnError: true,
    onConnectionError: err => errors.push(String(err && err.message ? err.message : err))
  })
  const logger = createLogger({ level: 'info', format: format.json(), transports: [transport] })
  const perRound = Math.ceil(cfg.count / rounds)
  let sent = 0
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < perRound && sent < cfg.count; k++, sent++) {
      logger.info(lineText(sent), { seq: sent, trace_id: `t-${cfg.run}-${sent}` })
    }
    await new Promise(resolve => setImmediate(resolve)) // let winston hand the entries over
    await transport.batcher.sendBatchToLoki().catch(err => errors.push(String(err)))
    await transport.flush()
  }
  await transport.close()
  agent.destroy()
  return sent
}

async function pino () {
  const { Agent, setGlobalDispatcher } = require('undici')
  // pino-loki uses Node's fetch: the global dispatcher carries the client certificate.
  setGlobalDispatcher(new Agent({ connect: { cert, key, ca } }))
  const pinoLib = require('pino')
  const { pinoLoki } = require('pino-loki')
  const origError = console.error
  console.error = (...args) => errors.push(args.map(String).join(' ')) // pino-loki reports here
  const perRound = Math.ceil(cfg.count / rounds)
  let sent = 0
  try {
    for (let r = 0; r < rounds; r++) {
      // One stream per round, one push per stream: the push on close is awaited.
      const stream = pinoLoki({
        host: cfg.url,
        batching: { interval: 3600 },
        timeout: 10000,
        labels: { app: 'pino', run: cfg.run, tenant: cfg.spoof },
        headers: { 'X-Scope-OrgID': cfg.spoof }
      })
      const closed = new Promise(resolve => stream.on('close', resolve))
      const logger = pinoLib({ level: 'info', base: { pid: 1, hostname: 'mla-test' } }, stream)
      for (let k = 0; k < perRound && sent < cfg.count; k++, sent++) {
        logger.info({ seq: sent, meta: { trace_id: `t-${cfg.run}-${sent}`, round: r } },
          lineText(sent))
      }
      stream.end()
      await closed
    }
  } finally {
    console.error = origError
  }
  return sent
}

async function main () {
  let sent
  if (cfg.client === 'winston-proto') sent = await winston(false)
  else if (cfg.client === 'winston-json') sent = await winston(true)
  else if (cfg.client === 'pino') sent = await pino()
  else throw new Error(`unknown client ${cfg.client}`)
  process.stdout.write(JSON.stringify({ sent, errors }) + '\n')
  process.exit(errors.length ? 1 : 0)
}

const watchdog = setTimeout(() => {
  process.stdout.write(JSON.stringify({ sent: -1, errors: errors.concat(['timed out']) }) + '\n')
  process.exit(2)
}, 60000)
watchdog.unref()

main().catch(err => {
  process.stdout.write(JSON.stringify({ sent: -1, errors: errors.concat([String(err)]) }) + '\n')
  process.exit(1)
})
