// Random ids: crypto.randomUUID where the browser has it (secure contexts only), else a v4 UUID from
// getRandomValues, else from Math.random (old or insecure pages; uniqueness, not secrecy, is what counts).
import type { WindowLike } from './window.js';

export function uuid(win: WindowLike): string {
  const crypto = win.crypto;
  if (crypto?.randomUUID) return crypto.randomUUID();
  let bytes: Uint8Array = new Uint8Array(16);
  if (crypto?.getRandomValues) bytes = crypto.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
