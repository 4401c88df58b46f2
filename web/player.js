// The gateway's player page: hls.js on the gateway's HLS, a rendition switcher, live latency,
// and the payment figures from the gateway's /status. Everything is served by lpnode itself.
'use strict';

const source = new URLSearchParams(location.search).get('src') || '/hls/index.m3u8';
const video = document.getElementById('video');
const select = document.getElementById('rendition');
const $ = (id) => document.getElementById(id);
document.getElementById('source').textContent = new URL(source, location.href).href;

// Wei as ETH with enough digits to see tickets move.
function eth(wei) {
  if (wei === undefined || wei === null) return '-';
  const [num, den] = String(wei).split('/');
  const value = Number(num) / Number(den || 1);
  return (value / 1e18).toPrecision(6) + ' ETH';
}

function levelName(level) {
  return level.height ? `${level.height}p` + (level.bitrate ? ` (${Math.round(level.bitrate / 1000)} kb/s)` : '')
                      : (level.name || 'source');
}

function showMessage(text) { $('message').textContent = text; }

let hls = null;
if (window.Hls && Hls.isSupported()) {
  hls = new Hls({ liveSyncDurationCount: 3 });
  hls.on(Hls.Events.MANIFEST_PARSED, (_, data) => {
    data.levels.forEach((level, i) => {
      const o = document.createElement('option');
      o.value = String(i);
      o.textContent = levelName(level);
      select.appendChild(o);
    });
    video.play().catch(() => {});
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_, data) => {
    $('playing').textContent = levelName(hls.levels[data.level]);
  });
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (!data.fatal) return;
    // A live stream that has not started yet answers 404 for a while: try again.
    showMessage(`${data.type}: ${data.details} (retrying)`);
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    else setTimeout(() => hls.loadSource(source), 2000);
  });
  hls.on(Hls.Events.FRAG_LOADED, () => showMessage(''));
  hls.attachMedia(video);
  // A live stream's playlist appears with its first segments: the gateway's /status says when
  // (asking for the playlist itself would log 404s until then).
  (async function waitForPlaylist() {
    showMessage('Waiting for the first segments...');
    for (;;) {
      try {
        const r = await fetch('/status', { cache: 'no-store' });
        if (r.ok && (await r.json()).playlist) break;
      } catch (e) {
        // the gateway is not up yet
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    showMessage('');
    hls.loadSource(source);
  })();
} else if (video.canPlayType('application/vnd.apple.mpegurl')) {
  video.src = source;  // Safari plays HLS itself
  select.disabled = true;
} else {
  showMessage('This browser cannot play HLS (no Media Source Extensions), and hls.js did not load.');
}

select.addEventListener('change', () => {
  if (hls) hls.currentLevel = Number(select.value);  // -1: automatic
});

setInterval(() => {
  if (hls && hls.latency) $('latency').textContent = hls.latency.toFixed(1) + ' s';
  const b = video.buffered;
  if (b.length) $('buffer').textContent = (b.end(b.length - 1) - video.currentTime).toFixed(1) + ' s';
}, 500);

async function refreshStatus() {
  try {
    const r = await fetch('/status', { cache: 'no-store' });
    if (!r.ok) return;
    const s = await r.json();
    $('segments').textContent = s.segments;
    $('tickets').textContent = s.payments ? s.payments['tickets-sent'] : 0;
    $('ev').textContent = eth(s.payments && s.payments['ev-sent']);
    $('credit').textContent = eth(s.payments && s.payments.balance);
    $('deposit').textContent = eth(s.deposit);
    $('reserve').textContent = eth(s.reserve);
    const rows = (s.orchestrators || []).map((o) => {
      const tr = document.createElement('tr');
      const cells = [o.address || o.target, o['price-per-pixel'], o.successes, o.failures, o['tickets-sent'] ?? 0,
                     eth(o['ev-sent'] ?? 0), o.suspended ? 'suspended' : 'ok'];
      for (const c of cells) {
        const td = document.createElement('td');
        td.textContent = c ?? '-';
        tr.appendChild(td);
      }
      return tr;
    });
    $('orchestrators').replaceChildren(...rows);
  } catch (e) {
    // The gateway stopped: keep the last figures.
  }
}
refreshStatus();
setInterval(refreshStatus, 2000);

window.lpPlayer = { hls, video };
