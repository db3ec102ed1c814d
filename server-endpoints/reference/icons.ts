// The web app's icons, drawn as PNGs in code when first asked for: no image files, no image library.

import { crc32, deflateSync } from 'node:zlib';

/** The accent colour of the icons and of the app's theme (manifest, header). */
export const THEME_COLOR = '#2b59c3';
const ACCENT: [number, number, number] = [0x2b, 0x59, 0xc3];

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** An RGBA PNG of `size`×`size` whose pixels `paint` gives (r, g, b, a). */
function encodePng(size: number, paint: (x: number, y: number) => [number, number, number, number]): Buffer {
  const row = size * 4 + 1;
  const raw = Buffer.alloc(row * size);
  for (let y = 0; y < size; y++) {
    raw[y * row] = 0; // filter: none
    for (let x = 0; x < size; x++) raw.set(paint(x, y), y * row + 1 + x * 4);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits per channel, RGBA, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Inside the letter H drawn over the unit square centred on 0.5, `scale` of the icon wide. */
function inH(u: number, v: number, scale: number): boolean {
  const x = (u - 0.5) / scale + 0.5;
  const y = (v - 0.5) / scale + 0.5;
  if (y < 0 || y > 1) return false;
  const stem = (x >= 0 && x < 0.28) || (x > 0.72 && x <= 1);
  return stem || (x >= 0 && x <= 1 && y > 0.42 && y < 0.58);
}

/**
 * `purpose` "any": a rounded tile with the letter H; "maskable": the background fills the whole square and the
 * letter stays inside the central safe zone (a circle of 40% radius) whatever shape the launcher cuts.
 */
function drawIcon(size: number, purpose: 'any' | 'maskable'): Buffer {
  const radius = purpose === 'any' ? 0.18 : 0;
  const scale = purpose === 'any' ? 0.5 : 0.4;
  return encodePng(size, (px, py) => {
    const u = (px + 0.5) / size;
    const v = (py + 0.5) / size;
    const cx = Math.min(Math.max(u, radius), 1 - radius);
    const cy = Math.min(Math.max(v, radius), 1 - radius);
    if (radius > 0 && Math.hypot(u - cx, v - cy) > radius) return [0, 0, 0, 0];
    return inH(u, v, scale) ? [255, 255, 255, 255] : [...ACCENT, 255];
  });
}

export const ICONS = {
  'icon-192.png': () => drawIcon(192, 'any'),
  'icon-512.png': () => drawIcon(512, 'any'),
  'maskable-512.png': () => drawIcon(512, 'maskable'),
} as const;

export type IconName = keyof typeof ICONS;

const drawn = new Map<IconName, Buffer>();

/** The icon's PNG, drawn once per process. */
export function iconPng(name: IconName): Buffer {
  let png = drawn.get(name);
  if (!png) {
    png = ICONS[name]();
    drawn.set(name, png);
  }
  return png;
}
