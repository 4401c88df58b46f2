// lpnode demo, judged from the outside: Debian's Chromium (headless, driven by playwright-core)
// opens the player page the demo prints and must play: the video's current time advances at
// least 5 s, a switch to the lowest rendition happens (hls.js level and the decoded picture
// height), and the page logs no error. /metrics of the gateway and of the orchestrator must
// parse as Prometheus text. Then SIGTERM: exit 0, every playlist ends with EXT-X-ENDLIST, the
// gateway's tickets equal the orchestrator's, and the winning tickets the orchestrator received
// are in the ledger's queue.
//
// usage: node demo_player_test.mjs LPNODE CLIP
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { parsePrometheus } from './prometheus.mjs';

const [lpnode, clip] = process.argv.slice(2);
let passed = 0;
let failed = 0;
function check(ok, what, detail = '') {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ': ' + detail : ''}`);
  return ok;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, fn, seconds) {
  const end = Date.now() + seconds * 1000;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await sleep(250);
  }
  throw new Error(`timed out after ${seconds} s waiting for ${what}`);
}

const dir = mkdtempSync(join(tmpdir(), 'lpdemo-'));
const demo = spawn(lpnode, ['demo', '--dir', dir, '--http-addr', '127.0.0.1:0', '--clip', clip],
                   { stdio: ['ignore', 'pipe', 'pipe'] });
let stdout = '';
let stderr = '';
demo.stdout.on('data', (d) => { stdout += d; });
demo.stderr.on('data', (d) => { stderr += d; });
const exited = new Promise((resolve) => demo.on('exit', (code, signal) => resolve({ code, signal })));

let browser;
try {
  const ready = JSON.parse(await waitFor('the demo\'s ready line', () => stdout.includes('\n') && stdout.split('\n')[0], 120));
  check(ready.player.endsWith('/player/'), 'the demo prints the player URL', ready.player);

  browser = await chromium.launch({
    executablePath: process.env.LP_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required'],
  });
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  await page.goto(ready.player);

  // Playback: 5 s of media time from the moment it first plays.
  const t0 = await waitFor('playback to start',
    () => page.evaluate(() => (window.lpPlayer.video.currentTime > 0 ? window.lpPlayer.video.currentTime : 0)), 120);
  const t1 = await waitFor('5 s of playback',
    () => page.evaluate((start) => (window.lpPlayer.video.currentTime >= start + 5 ? window.lpPlayer.video.currentTime : 0), t0), 120);
  check(t1 - t0 >= 5, 'the video plays on: current time advanced at least 5 s', `${t0.toFixed(2)} -> ${t1.toFixed(2)}`);

  // The switcher lists the renditions; choosing the lowest one switches hls.js and the picture.
  const levels = await page.evaluate(() => window.lpPlayer.hls.levels.map((l) => l.height));
  check(levels.length >= 3, 'the switcher has the source and each rendition', JSON.stringify(levels));
  const low = levels.indexOf(Math.min(...levels.filter((h) => h > 0)));
  await page.selectOption('#rendition', String(low));
  const height = await waitFor('the switch to the lowest rendition', () => page.evaluate((i) => {
    const { hls, video } = window.lpPlayer;
    return hls.currentLevel === i && video.videoHeight === hls.levels[i].height ? video.videoHeight : 0;
  }, low), 90);
  check(height === levels[low], 'rendition switch: hls.js plays the chosen level and the picture has its height', `${height}p`);
  const t2 = await page.evaluate(() => window.lpPlayer.video.currentTime);
  const t3 = await waitFor('playback after the switch',
    () => page.evaluate((s) => (window.lpPlayer.video.currentTime >= s + 2 ? window.lpPlayer.video.currentTime : 0), t2), 60);
  check(t3 >= t2 + 2, 'playback goes on after the switch', `${t2.toFixed(2)} -> ${t3.toFixed(2)}`);

  // The payment figures on the page come from /status.
  const tickets = await waitFor('the page\'s payment figures',
    () => page.evaluate(() => Number(document.getElementById('tickets').textContent) || 0), 30);
  check(tickets > 0, 'the page shows tickets sent', String(tickets));
  check(errors.length === 0, 'the page logged no error', errors.join(' | '));

  // /metrics of both processes: strict Prometheus text.
  for (const [who, url] of [['gateway', ready.status.replace(/\/status$/, '/metrics')], ['orchestrator', ready.orchestrator_admin + '/metrics']]) {
    const text = await (await fetch(url)).text();
    let families;
    try {
      families = parsePrometheus(text);
      check(true, `${who} /metrics parses as Prometheus text`, `${families.size} families`);
    } catch (e) {
      check(false, `${who} /metrics parses as Prometheus text`, e.message);
    }
  }
  const health = await fetch(ready.status.replace(/\/status$/, '/healthz'));
  check(health.status === 200, 'gateway /healthz answers 200');
  await browser.close();
  browser = undefined;

  // SIGTERM: a clean stop.
  demo.kill('SIGTERM');
  const end = await Promise.race([exited, sleep(180000).then(() => ({ code: 'timeout' }))]);
  check(end.code === 0, 'SIGTERM: the demo exits 0', JSON.stringify(end));
  const summary = JSON.parse(stdout.trim().split('\n').pop());
  const hls = join(dir, 'hls');
  for (const rendition of readdirSync(hls, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const playlist = readFileSync(join(hls, rendition.name, 'index.m3u8'), 'utf8');
    check(playlist.trimEnd().endsWith('#EXT-X-ENDLIST'), `${rendition.name} playlist ends with EXT-X-ENDLIST`);
  }
  const g = summary.gateway;
  const o = summary.orchestrator;
  check(g && o, 'the demo prints the gateway\'s and the orchestrator\'s final figures');
  check(g.segments > 0 && g.skipped === 0 && g.verify_failed === 0, 'every segment transcoded and verified',
        `${g.segments} segments`);
  check(g.tickets_sent === o.tickets_recv, 'tickets the gateway sent = tickets the orchestrator received',
        `${g.tickets_sent} / ${o.tickets_recv}`);
  check(g.segments === o.segments_transcoded, 'segments the gateway got = segments the orchestrator transcoded',
        `${g.segments} / ${o.segments_transcoded}`);
  const queue = JSON.parse(execFileSync(lpnode, ['ledger', '--db', join(dir, 'ledger.db'), 'queue'], { encoding: 'utf8' }));
  check(queue.length === o.winning_tickets_recv, 'every winning ticket received is persisted in the ledger\'s queue',
        `${queue.length} queued or redeemed / ${o.winning_tickets_recv} won`);
} catch (e) {
  check(false, 'the test ran to the end', (e.stack || String(e)) + (e.cause ? `\ncause: ${e.cause.stack || e.cause}` : ''));
} finally {
  if (browser) await browser.close();
  if (demo.exitCode === null) demo.kill('SIGKILL');
  if (failed) console.log('--- lpnode demo stderr (last 4000 chars) ---\n' + stderr.slice(-4000));
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
