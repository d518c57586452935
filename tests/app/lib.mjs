// Helpers shared by the desktop app's end-to-end test (e2e.mjs) and benchmark (bench.mjs).

import net from "node:net";
import { deflateSync, inflateSync } from "node:zlib";

/** The value of environment variable `name`, which must be set. */
export const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

/** A TCP port on loopback that nothing listens on now. */
export async function freePort() {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** Whether something accepts a TCP connection on `port` on loopback now. */
export async function portOpen(port) {
  return await new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.end();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

/** Waits until something listens on `port` on loopback. */
export async function waitForPort(port, what, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not listen on port ${port}`);
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A valid PNG of `width`×`height` pixels (8-bit RGB, a colour gradient). */
export function pngImage(width, height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per sample
  header[9] = 2; // RGB
  const rows = [];
  for (let y = 0; y < height; y += 1) {
    const row = Buffer.alloc(1 + width * 3); // filter byte 0: none
    for (let x = 0; x < width; x += 1) {
      row[1 + x * 3] = Math.round((x * 255) / Math.max(1, width - 1));
      row[2 + x * 3] = Math.round((y * 255) / Math.max(1, height - 1));
      row[3 + x * 3] = 160;
    }
    rows.push(row);
  }
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk("IHDR", header),
    pngChunk("IDAT", deflateSync(Buffer.concat(rows))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** Samples per pixel of an 8-bit PNG colour type. */
const PNG_CHANNELS = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** A PNG's size, after checking every chunk's CRC and inflating its pixel rows (non-interlaced). */
function decodePng(bytes) {
  let at = PNG_SIGNATURE.length;
  let header = null;
  const data = [];
  let ended = false;
  while (at + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString("ascii", at + 4, at + 8);
    const body = bytes.subarray(at + 4, at + 8 + length);
    if (at + 12 + length > bytes.length) throw new Error(`PNG chunk ${type} runs past the end`);
    if (crc32(body) !== bytes.readUInt32BE(at + 8 + length)) {
      throw new Error(`PNG chunk ${type} has a wrong CRC`);
    }
    const content = bytes.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") header = content;
    else if (type === "IDAT") data.push(content);
    else if (type === "IEND") {
      ended = true;
      break;
    }
    at += 12 + length;
  }
  if (header === null || !ended) throw new Error("a PNG without IHDR or IEND");
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  const [depth, colour, , , interlace] = header.subarray(8, 13);
  const channels = PNG_CHANNELS[colour];
  if (channels !== undefined && depth === 8 && interlace === 0) {
    const pixels = inflateSync(Buffer.concat(data));
    const expected = height * (1 + width * channels);
    if (pixels.length !== expected) {
      throw new Error(`PNG pixel data of ${pixels.length} bytes, expected ${expected}`);
    }
  } else {
    inflateSync(Buffer.concat(data));
  }
  return { format: "png", width, height };
}

/** A JPEG's size from its frame header, after checking its segments up to the end marker. */
function decodeJpeg(bytes) {
  let at = 2;
  let size = null;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw new Error(`JPEG: no marker at byte ${at}`);
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const length = bytes.readUInt16BE(at + 2);
    const frame = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (frame) {
      size = { format: "jpeg", height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    }
    if (marker === 0xda) {
      // Entropy-coded data follows the scan header, up to the end-of-image marker.
      if (bytes[bytes.length - 2] !== 0xff || bytes[bytes.length - 1] !== 0xd9) {
        throw new Error("JPEG without an end-of-image marker");
      }
      if (size === null) throw new Error("JPEG without a frame header");
      return size;
    }
    at += 2 + length;
  }
  throw new Error("JPEG without a scan");
}

/**
 * The format and size of a PNG or JPEG image in `bytes`, checked on the way (a PNG's chunks and
 * pixel data, a JPEG's segments); throws when it is neither or is damaged.
 */
export function decodeImage(bytes) {
  if (bytes.length > 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return decodePng(bytes);
  if (bytes.length > 4 && bytes[0] === 0xff && bytes[1] === 0xd8) return decodeJpeg(bytes);
  throw new Error(`not a PNG or JPEG (starts with ${bytes.subarray(0, 8).toString("hex")})`);
}
