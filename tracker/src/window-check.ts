// Compile-time only (tsconfig in tracker/, DOM lib): the real window satisfies WindowLike, so the
// fakes in the unit tests and the browser see the same shape. Nothing imports this file.
import type { WindowLike } from './window.js';

export const realWindowFitsWindowLike = (win: Window & typeof globalThis): WindowLike => win;
