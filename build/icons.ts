// Draws the app and tray icons as PNGs with a tiny pure-Node encoder, so the icons are made, not downloaded.
// Run: npx tsx build/icons.ts  (writes build/icons/; deterministic, so the output is committed).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';

type Rgba = readonly [number, number, number, number];
/** A shape: its colour at a point in the unit square, or null where it is transparent. */
type Shape = (x: number, y: number) => Rgba | null;

const GREEN: Rgba = [31, 157, 85, 255];
const GREY: Rgba = [138, 143, 152, 255];
const AMBER: Rgba = [230, 140, 20, 255];
const WHITE: Rgba = [255, 255, 255, 255];
const BLACK: Rgba = [0, 0, 0, 255];

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** Encodes RGBA pixels (row-major, 4 bytes each) as a PNG. */
export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Rasterises a shape with 4x4 supersampling (smooth edges at 16 px). */
export function render(size: number, shape: Shape): Buffer {
  const pixels = new Uint8Array(size * size * 4);
  const n = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      let a = 0;
      for (let sy = 0; sy < n; sy++) {
        for (let sx = 0; sx < n; sx++) {
          const c = shape((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size);
          if (c === null) continue;
          const w = c[3] / 255;
          r += c[0] * w;
          g += c[1] * w;
          b += c[2] * w;
          a += w;
        }
      }
      const i = (py * size + px) * 4;
      if (a > 0) {
        pixels[i] = Math.round(r / a);
        pixels[i + 1] = Math.round(g / a);
        pixels[i + 2] = Math.round(b / a);
      }
      pixels[i + 3] = Math.round((a / (n * n)) * 255);
    }
  }
  return encodePng(size, size, pixels);
}

const dist = (x: number, y: number): number => Math.hypot(x - 0.5, y - 0.5);

/** The sync mark: a ring open at two points, like two arrows chasing each other. */
function syncRing(x: number, y: number, inner: number, outer: number): boolean {
  const d = dist(x, y);
  if (d < inner || d > outer) return false;
  const angle = Math.atan2(y - 0.5, x - 0.5);
  // Two gaps, top-right and bottom-left.
  const gap = (a: number): boolean => Math.abs(Math.atan2(Math.sin(angle - a), Math.cos(angle - a))) < 0.35;
  return !gap(-Math.PI / 4) && !gap((3 * Math.PI) / 4);
}

function bang(x: number, y: number): boolean {
  const bar = Math.abs(x - 0.5) < 0.07 && y > 0.24 && y < 0.6;
  const dot = Math.hypot(x - 0.5, y - 0.73) < 0.075;
  return bar || dot;
}

const discWithRing =
  (fill: Rgba): Shape =>
  (x, y) => {
    if (dist(x, y) > 0.48) return null;
    return syncRing(x, y, 0.2, 0.32) ? WHITE : fill;
  };

const attention: Shape = (x, y) => {
  if (dist(x, y) > 0.48) return null;
  return bang(x, y) ? WHITE : AMBER;
};

// macOS template images: black and alpha only; the menu bar colours them.
const templateOn: Shape = (x, y) => (syncRing(x, y, 0.24, 0.44) || dist(x, y) < 0.12 ? BLACK : null);
const templateOff: Shape = (x, y) => (syncRing(x, y, 0.3, 0.42) ? [0, 0, 0, 110] : null);
const templateAttention: Shape = (x, y) => (bang(x, y) || (dist(x, y) > 0.38 && dist(x, y) < 0.47) ? BLACK : null);

const appIcon: Shape = (x, y) => {
  // A rounded square with the sync mark.
  const r = 0.2;
  const cx = Math.min(Math.max(x, r + 0.04), 0.96 - r);
  const cy = Math.min(Math.max(y, r + 0.04), 0.96 - r);
  if (Math.hypot(x - cx, y - cy) > r) return null;
  return syncRing(x, y, 0.22, 0.34) ? WHITE : GREEN;
};

export const ICONS: Record<string, { size: number; shape: Shape }> = {
  'icon.png': { size: 512, shape: appIcon },
  'tray-on.png': { size: 16, shape: discWithRing(GREEN) },
  'tray-on@2x.png': { size: 32, shape: discWithRing(GREEN) },
  'tray-off.png': { size: 16, shape: discWithRing(GREY) },
  'tray-off@2x.png': { size: 32, shape: discWithRing(GREY) },
  'tray-attention.png': { size: 16, shape: attention },
  'tray-attention@2x.png': { size: 32, shape: attention },
  'tray-onTemplate.png': { size: 16, shape: templateOn },
  'tray-onTemplate@2x.png': { size: 32, shape: templateOn },
  'tray-offTemplate.png': { size: 16, shape: templateOff },
  'tray-offTemplate@2x.png': { size: 32, shape: templateOff },
  'tray-attentionTemplate.png': { size: 16, shape: templateAttention },
  'tray-attentionTemplate@2x.png': { size: 32, shape: templateAttention },
};

export function writeIcons(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  return Object.entries(ICONS).map(([name, { size, shape }]) => {
    const file = join(outDir, name);
    writeFileSync(file, render(size, shape));
    return file;
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const written = writeIcons(join(dirname(fileURLToPath(import.meta.url)), 'icons'));
  process.stdout.write(`wrote ${written.length} icons\n`);
}
