// Drive the admin status page (GET /) in headless Chromium, like an operator would.
// Used by tests/e2e/test_status_page.py.
//
//   node drive.js [--enable] [--reason=TEXT] ADMIN_BASE_URL TENANT [TOKEN]
//
// Opens ADMIN_BASE_URL, waits for <tr data-tenant=TENANT>, prints its text, clicks its Disable
// button (answering the reason prompt with TEXT, default "e2e test") or, with --enable, its
// Enable button; a token prompt (after a 401) is answered with TOKEN, or dismissed without one.
// Then waits until a refresh made after the POST shows the tenant disabled (enabled) and prints
// one JSON line, the last of stdout: {"mode", "tenant", "before", "after", "dialogs", "posts",
// "header", "error_line", "page_errors"}. Exit 0 only if the row reached the wanted state; every
// step has a deadline (else exit 1 with a message on stderr). Environment: MLA_CHROMIUM (default
// /usr/bin/chromium), MLA_DRIVE_TIMEOUT_MS (whole run, default 60000).
'use strict'

const fs = require('fs')
const os = require('os')
const path = require('path')
const puppeteer = require('puppeteer-core')

const STEP_MS = 15000
const TOTAL_MS = Number(process.env.MLA_DRIVE_TIMEOUT_MS) || 60000

function usage (why) {
  process.stderr.write(`drive.js: ${why}\n` +
    'usage: node drive.js [--enable] [--reason=TEXT] ADMIN_BASE_URL TENANT [TOKEN]\n')
  process.exit(64)
}

const flags = process.argv.slice(2).filter(a => a.startsWith('--'))
const args = process.argv.slice(2).filter(a => !a.startsWith('--'))
if (args.length < 2 || args.length > 3) usage('need ADMIN_BASE_URL and TENANT')
const [baseUrl, tenant, token] = args
let mode = 'disable'
let reason = 'e2e test'
for (const f of flags) {
  if (f === '--enable') mode = 'enable'
  else if (f === '--disable') mode = 'disable'
  else if (f.startsWith('--reason=')) reason = f.slice('--reason='.length)
  else usage(`unknown flag ${f}`)
}
const wantEnabled = mode === 'enable'

// Whole-run deadline: exiting kills the browser (puppeteer's exit hook; with `pipe: true`
// Chromium also exits by itself when this process dies).
let profileDir = null
const seen = { dialogs: [], posts: [], pageErrors: [] } // also printed when a step fails
const overall = setTimeout(() => fail(`no result within ${TOTAL_MS} ms`), TOTAL_MS)

function cleanup () {
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true })
  profileDir = null
}

function fail (message) {
  process.stderr.write(`drive.js: ${message}\n`)
  cleanup()
  process.exit(1)
}

// Runs STEP (a promise factory) with a deadline; a timeout names WHAT.
async function step (what, fn, ms = STEP_MS) {
  let timer
  const deadline = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([fn(), deadline])
  } catch (e) {
    throw new Error(e.message.startsWith(what) ? e.message : `${what}: ${e.message}`)
  } finally {
    clearTimeout(timer)
  }
}

// What the row shows, by data-field (plus the rejected cell's per-reason title).
function readRow (page) {
  return page.evaluate(name => {
    const tr = [...document.querySelectorAll('tr[data-tenant]')]
      .find(r => r.dataset.tenant === name)
    if (!tr) return null
    const out = { text: tr.innerText.replace(/\s+/g, ' ').trim(),
      data_enabled: tr.dataset.enabled }
    for (const td of tr.querySelectorAll('td[data-field]')) out[td.dataset.field] = td.textContent
    const rejected = tr.querySelector('td[data-field="rejected"]')
    out.rejected_by_reason = rejected ? rejected.title : ''
    const button = tr.querySelector('button[data-action]')
    out.action = button ? button.dataset.action : null
    return out
  }, tenant)
}

async function main () {
  const executablePath = process.env.MLA_CHROMIUM || '/usr/bin/chromium'
  if (!fs.existsSync(executablePath)) fail(`${executablePath} not found (apt-get install chromium)`)
  profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mla-status-page-'))
  const chromeArgs = ['--disable-dev-shm-usage', '--disable-gpu', '--no-first-run',
    '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--metrics-recording-only']
  if (typeof process.getuid === 'function' && process.getuid() === 0) {
    chromeArgs.push('--no-sandbox') // Chromium refuses to run as root with its sandbox
  }
  const browser = await step('launch chromium', () => puppeteer.launch({
    executablePath,
    headless: true,
    pipe: true,
    userDataDir: profileDir,
    args: chromeArgs,
    protocolTimeout: STEP_MS
  }))
  const { dialogs, posts, pageErrors } = seen
  let postsDone = 0
  let tenantGetsAfterPost = 0
  try {
    const page = await browser.newPage()
    page.setDefaultTimeout(STEP_MS)
    page.on('pageerror', e => pageErrors.push(String(e && e.message ? e.message : e)))
    page.on('dialog', async dialog => {
      const message = dialog.message()
      let answer = null
      if (dialog.type() === 'prompt' && /token/i.test(message)) answer = token || null
      else if (dialog.type() === 'prompt' && /reason/i.test(message)) answer = reason
      dialogs.push({ type: dialog.type(), message, answered: answer !== null })
      try {
        if (answer === null) await dialog.dismiss()
        else await dialog.accept(answer)
      } catch (e) {
        pageErrors.push(`dialog: ${e.message}`)
      }
    })
    page.on('response', resp => {
      const req = resp.request()
      const url = new URL(resp.url())
      if (req.method() === 'POST') {
        posts.push({ path: url.pathname, status: resp.status(),
          authorization: Boolean(req.headers().authorization) })
        postsDone++
      } else if (postsDone > 0 && url.pathname.endsWith('/api/v1/tenants')) {
        tenantGetsAfterPost++
      }
    })

    const resp = await step(`open ${baseUrl}`,
      () => page.goto(baseUrl, { waitUntil: 'domcontentloaded' }))
    if (!resp || resp.status() !== 200) {
      throw new Error(`GET ${baseUrl}: HTTP ${resp ? resp.status() : '?'}`)
    }
    const type = resp.headers()['content-type'] || ''
    if (!type.startsWith('text/html')) throw new Error(`GET ${baseUrl}: Content-Type ${type}`)

    const wantAction = wantEnabled ? 'enable' : 'disable'
    const button = await step(`row tr[data-tenant="${tenant}"] with a ${wantAction} button`,
      () => page.waitForFunction((name, action) => {
        const tr = [...document.querySelectorAll('tr[data-tenant]')]
          .find(r => r.dataset.tenant === name)
        return tr && tr.querySelector(`button[data-action="${action}"]`)
      }, { polling: 100 }, tenant, wantAction))
    const before = await readRow(page)
    console.log(`row before: ${before.text}`)
    await step(`click ${wantAction}`, () => button.asElement().click())

    // The state must come from a tenants refresh made after the POST, not only the POST's answer.
    await step(`row showing ${wantEnabled ? 'enabled' : 'disabled'} after a refresh`, () =>
      new Promise((resolve, reject) => {
        const poll = async () => {
          try {
            const row = await readRow(page)
            const errorLine = await page.$eval('#error', e => (e.hidden ? '' : e.textContent))
            if (postsDone > 0 && tenantGetsAfterPost > 0 && row &&
                row.data_enabled === String(wantEnabled)) return resolve()
            // The page reports a failed click as "POST api/v1/tenants/...: HTTP 401 ...".
            if (errorLine.includes('POST api/v1/tenants/')) {
              return reject(new Error(`the page shows an error: ${errorLine}`))
            }
            setTimeout(poll, 100)
          } catch (e) {
            reject(e)
          }
        }
        poll()
      }))
    const after = await readRow(page)
    console.log(`row after: ${after.text}`)
    const header = await page.evaluate(() => ({
      version: document.getElementById('version').textContent,
      ready: document.getElementById('ready').textContent,
      updated: document.getElementById('updated').textContent
    }))
    const errorLine = await page.$eval('#error', e => (e.hidden ? '' : e.textContent))
    console.log(JSON.stringify({ mode, tenant, before, after, dialogs, posts, header,
      error_line: errorLine, page_errors: pageErrors }))
  } finally {
    await browser.close().catch(() => {})
  }
}

main().then(() => {
  clearTimeout(overall)
  cleanup()
  process.exit(0)
}, e => fail(`${e.message}\nseen: ${JSON.stringify(seen)}`))
