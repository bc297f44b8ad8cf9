// A tiny stand-in for the mini-program runtime's Page() and App(), so page modules can be
// instantiated and driven from node tests.
//
//   // pages/login/index.mjs
//   export default Page({ data: { phone: '' }, onLoad(query) { … }, sendCode() { … } });
//
//   // a test
//   const page = await mount(LoginPage, { from: 'test' }); // onLoad, onShow, onReady
//   page.onPhoneInput({ detail: { value: '13912345678' } });
//   await page.sendCode();
//   page.data.codeSent; // true
//
// As in WeChat: the definition's `data` is copied per instance; every other property (methods
// and lifecycle hooks) is put on the instance with `this` bound to it; `setData(patch)` merges
// into `data` and accepts path keys (`'result.level'`, `'items[2].checked'`). Values are
// copied as data (a later change to the object passed in does not reach the page).

const LIFECYCLE = ['onLoad', 'onShow', 'onReady', 'onHide', 'onUnload'];

const copy = (value) => (value === undefined ? undefined : structuredClone(value));

/** `'a.b[2].c'` → ['a', 'b', 2, 'c']. */
export function parseDataPath(path) {
  const parts = [];
  const pattern = /([^.[\]]+)|\[(\d+)\]/g;
  let expectedIndex = 0;
  for (const match of path.matchAll(pattern)) {
    // Separators between the parts must be '.' or nothing before '['.
    const gap = path.slice(expectedIndex, match.index);
    if (gap !== '' && gap !== '.') throw new SyntaxError(`setData: bad path ${JSON.stringify(path)}`);
    parts.push(match[2] !== undefined ? Number(match[2]) : match[1]);
    expectedIndex = match.index + match[0].length;
  }
  if (parts.length === 0 || expectedIndex !== path.length) throw new SyntaxError(`setData: bad path ${JSON.stringify(path)}`);
  return parts;
}

function assign(target, parts, value) {
  let node = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const part = parts[i];
    if (node[part] === null || typeof node[part] !== 'object') node[part] = typeof parts[i + 1] === 'number' ? [] : {};
    node = node[part];
  }
  node[parts.at(-1)] = value;
}

/** Declares a page. Returns its definition, which `mount()` / `.create()` instantiate. */
export function Page(definition) {
  if (definition === null || typeof definition !== 'object') throw new TypeError('Page(definition): an object');
  return {
    definition,
    /** A new instance (not yet loaded). */
    create() {
      const instance = {
        data: copy(definition.data ?? {}),
        /** How many times setData ran (a render count, for tests). */
        renders: 0,
        setData(patch, callback) {
          for (const [key, value] of Object.entries(patch)) assign(this.data, parseDataPath(key), copy(value));
          this.renders += 1;
          if (typeof callback === 'function') callback();
        },
      };
      for (const [key, value] of Object.entries(definition)) {
        if (key === 'data') continue;
        instance[key] = typeof value === 'function' ? value.bind(instance) : copy(value);
      }
      for (const hook of LIFECYCLE) if (!instance[hook]) instance[hook] = () => {};
      instance.route = definition.route ?? '';
      return instance;
    },
  };
}

/**
 * Creates and loads a page: onLoad(query) (awaited when it returns a promise — WeChat does not
 * wait, tests want to), then onShow and onReady.
 */
export async function mount(page, query = {}) {
  const instance = page.create();
  await instance.onLoad(query);
  await instance.onShow();
  await instance.onReady();
  return instance;
}

/** Unloads a mounted page (onHide, onUnload). */
export async function unmount(instance) {
  await instance.onHide();
  await instance.onUnload();
}

let theApp = null;

/** Declares the app object (WeChat's App()); getApp() returns it. */
export function App(definition) {
  theApp = definition;
  if (typeof definition.onLaunch === 'function') definition.onLaunch();
  return definition;
}

/** The app declared with App(). */
export function getApp() {
  if (!theApp) throw new Error('getApp(): no App() was declared (import app.mjs first)');
  return theApp;
}
