// Where the SDK keeps its state: localStorage when the browser lets us write to it, else a first-party
// cookie (identity and session only: a cookie is too small for the queue), else memory for this page.
import type { StorageLike, WindowLike } from './window.js';

const YEAR_SECONDS = 31_536_000;

export function memoryStorage(): StorageLike {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/** window.localStorage if it exists and takes a write (Safari private mode and blocked storage throw). */
export function localStorageOf(win: WindowLike): StorageLike | undefined {
  try {
    const storage = win.localStorage;
    if (!storage) return undefined;
    storage.setItem('cs_probe', '1');
    storage.removeItem('cs_probe');
    return storage;
  } catch {
    return undefined;
  }
}

export function cookieStorage(win: WindowLike): StorageLike | undefined {
  const doc = win.document;
  const storage: StorageLike = {
    getItem: (key) => {
      const match = new RegExp(`(?:^|; )${key}=([^;]*)`).exec(doc.cookie);
      return match ? decodeURIComponent(match[1]!) : null;
    },
    setItem: (key, value) => {
      doc.cookie = `${key}=${encodeURIComponent(value)}; max-age=${YEAR_SECONDS}; path=/; samesite=lax`;
    },
    removeItem: (key) => {
      doc.cookie = `${key}=; max-age=0; path=/`;
    },
  };
  try {
    storage.setItem('cs_probe', '1');
    const works = storage.getItem('cs_probe') === '1';
    storage.removeItem('cs_probe');
    return works ? storage : undefined;
  } catch {
    return undefined;
  }
}

/** Never throws: a full or revoked storage must not break the page that embeds us. */
export function safe(storage: StorageLike): StorageLike {
  return {
    getItem: (key) => {
      try {
        return storage.getItem(key);
      } catch {
        return null;
      }
    },
    setItem: (key, value) => {
      try {
        storage.setItem(key, value);
      } catch {
        // Quota exceeded: the in-memory copy still holds the data for this page.
      }
    },
    removeItem: (key) => {
      try {
        storage.removeItem(key);
      } catch {
        // Same as above.
      }
    },
  };
}
