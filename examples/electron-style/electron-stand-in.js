// Plain-Node stand-in for the few Electron main-process APIs main.js uses
// (app, ipcMain), plus a fake renderer calling ipcRenderer.invoke. Only for
// running the example without Electron (e.g. in CI).
'use strict';
const { EventEmitter } = require('node:events');
const os = require('node:os');
const path = require('node:path');

const handlers = new Map();

class App extends EventEmitter {
  whenReady() {
    return new Promise((resolve) => setImmediate(resolve));
  }
  getPath(name) {
    return path.join(os.tmpdir(), `electron-stand-in-${name}`);
  }
  /** Like Electron: 'before-quit' (preventable), then 'will-quit', then the process ends. */
  quit() {
    let prevented = false;
    this.emit('before-quit', { preventDefault: () => (prevented = true) });
    if (prevented) return;
    this.emit('will-quit', { preventDefault() {} });
    process.exitCode = process.exitCode ?? 0; // nothing else keeps the event loop alive
  }
}

const ipcMain = {
  handle(channel, handler) {
    handlers.set(channel, handler);
  },
};

/** The "renderer": `invoke(channel, ...args)` as ipcRenderer.invoke would (through a preload). */
function runRenderer(script) {
  const invoke = async (channel, ...args) => handlers.get(channel)({ sender: 'stand-in' }, ...args);
  return script(invoke);
}

module.exports = { app: new App(), ipcMain, runRenderer, isStandIn: true };
