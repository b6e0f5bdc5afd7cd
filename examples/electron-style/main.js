// Electron main-process code using pipe-io-server: one plugin host for the
// app's lifetime, plugins answering the renderer through ipcMain.handle, and
// a clean stop before quitting. In plain Node (CI) ./electron-stand-in.js
// replaces `electron`. Run: npm run build && node examples/electron-style/main.js
'use strict';
const path = require('node:path');
const { PluginHost } = require('pipe-io-server');

function loadElectron() {
  try {
    const electron = require('electron');
    // outside Electron, the npm package `electron` exports the binary's path (a string)
    if (typeof electron === 'object' && electron.app) return electron;
  } catch {
    /* not installed: fall through */
  }
  return require('./electron-stand-in');
}
const electron = loadElectron();
const { app, ipcMain } = electron;

/**
 * Files that an external program must read (a plugin script handed to bash,
 * python3 or node) cannot stay inside app.asar: package them with
 * `asarUnpack` and point at the unpacked copy.
 */
function unpacked(file) {
  return file.replace(`app.asar${path.sep}`, `app.asar.unpacked${path.sep}`);
}

const host = new PluginHost({ gracePeriod: 1000 });
let calc;
let nextId = 1;
const pending = new Map();

async function startPlugins() {
  // A JavaScript plugin needs no Node on the user's machine: the Electron
  // binary runs it as plain Node with ELECTRON_RUN_AS_NODE=1 (ignored by node).
  calc = await host.spawnPlugin(process.execPath, [unpacked(path.join(__dirname, 'plugins', 'calc-plugin.js'))], {
    name: 'calc',
    env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    stdout: 'ignore',
    restart: { maxRestarts: 5, initialDelay: 200 },
  });
  console.log(`[main] plugin ${calc.name} started (pid ${calc.pid})`);
  calc.on('message', (line) => {
    const reply = JSON.parse(line.toString('utf8'));
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.error) waiter.reject(new Error(reply.error));
    else waiter.resolve(reply.result);
  });
  calc.on('stderr', (line) => console.error(`[calc] ${line}`));
  calc.on('error', (err) => console.error(`[main] calc: ${err.code} ${err.message}`));
}

/** One request to the calc plugin; rejects after 5 s. */
function callCalc(op, args) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`calc: no reply to request ${id} within 5 s`));
    }, 5000);
    pending.set(id, {
      resolve: (v) => (clearTimeout(timer), resolve(v)),
      reject: (e) => (clearTimeout(timer), reject(e)),
    });
    calc.send(JSON.stringify({ id, op, args }));
  });
}

// Renderers never touch the pipes: they ask the main process over IPC.
ipcMain.handle('calc', (_event, op, ...args) => callCalc(op, args));

// Stop the plugins before the app quits: defer the quit until host.stop() is done.
let stopped = false;
app.on('before-quit', (event) => {
  if (stopped) return;
  event.preventDefault();
  console.log('[main] stopping plugins before quit');
  host
    .stop()
    .catch((err) => console.error('[main] stop failed:', err))
    .finally(() => {
      stopped = true;
      console.log('[main] plugins stopped; quitting');
      app.quit();
    });
});

app.whenReady().then(async () => {
  await startPlugins();
  if (electron.isStandIn) {
    // what a window's preload + renderer would do with ipcRenderer.invoke('calc', ...)
    await electron.runRenderer(async (invoke) => {
      console.log(`[renderer] 2 + 3 = ${await invoke('calc', 'add', 2, 3)}`);
      console.log(`[renderer] 6 * 7 = ${await invoke('calc', 'mul', 6, 7)}`);
    });
    app.quit();
  }
  // in real Electron: new BrowserWindow({ webPreferences: { preload } }) here
});
