// The HTML of the file browser: a folder's contents as a tree level, and a file with its preview (Markdown rendered
// with raw HTML off, images through the dashboard's image route, text escaped). Every echoed value escaped.

import MarkdownIt from 'markdown-it';
import { baseName, checkPath, decodePath, type Entry, encodePath, folderOf } from '../../protocol/index.js';
import { escapeHtml, escapeName } from '../auth/pages.js';
import { formatBytes, layout, timeTag } from './pages.js';

/**
 * Raw HTML in Markdown is shown as text, never rendered (`html: false`); markdown-it's own validateLink refuses
 * `javascript:`, `vbscript:`, `file:` and non-image `data:` links. No linkify, no typographer: what is written shows.
 */
const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false });

/** Where a Markdown file's relative image lives: resolved against the file's folder, as on disk; null otherwise. */
function imageRoute(src: string, folder: string): string | null {
  if (src === '' || /^[a-z][a-z0-9+.-]*:|^\/|^#|^\?/i.test(src)) return null;
  const base = `http://files.invalid/${folder === '' ? '' : `${encodePath(folder)}/`}`;
  const resolved = new URL(src, base);
  const path = decodePath(resolved.pathname.slice(1));
  const checked = path === null ? null : checkPath(path, 'file');
  return checked?.ok && IMAGE_EXTENSIONS.has(extensionOf(checked.value))
    ? `/dashboard/image/${encodePath(checked.value)}`
    : null;
}

// A relative image (`![](pic.png)`) shows the upload next to the Markdown file through the image route; any other
// source stays as written (and the page's CSP, img-src 'self', loads nothing from elsewhere).
const renderImage = markdown.renderer.rules.image;
markdown.renderer.rules.image = (tokens, index, options, env, self) => {
  const token = tokens[index];
  const folder = typeof env?.folder === 'string' ? env.folder : '';
  const route = token ? imageRoute(String(token.attrGet('src') ?? ''), folder) : null;
  if (token && route) token.attrSet('src', route);
  return renderImage ? renderImage(tokens, index, options, env, self) : self.renderToken(tokens, index, options);
};

/** Shown as escaped text (past this size, only the start is shown). */
const TEXT_EXTENSIONS = new Set([
  'txt',
  'md',
  'markdown',
  'css',
  'js',
  'mjs',
  'json',
  'csv',
  'xml',
  'svg',
  'html',
  'htm',
  'yml',
  'yaml',
  'ts',
  'log',
]);
const MARKDOWN_EXTENSIONS = new Set(['md', 'markdown']);
/** Previewed as `<img>` from the dashboard's image route, which serves these types only. */
export const IMAGE_EXTENSIONS = new Set(['png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'ico']);
const MAX_TEXT_SHOWN = 512 * 1024;

export function extensionOf(path: string): string {
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot + 1).toLowerCase();
}

export const filesHref = (path: string): string =>
  path === '' ? '/dashboard/files' : `/dashboard/files/${encodePath(path)}`;

/** Files / a / b: each level a link. */
function crumbs(path: string): string {
  const parts = path === '' ? [] : path.split('/');
  const links = ['<a href="/dashboard/files">Files</a>'];
  parts.forEach((part, i) => {
    const at = parts.slice(0, i + 1).join('/');
    links.push(
      i === parts.length - 1 ? escapeName(part) : `<a href="${escapeHtml(filesHref(at))}">${escapeName(part)}</a>`,
    );
  });
  return `<p class="crumbs" id="crumbs">${links.join(' / ')}</p>`;
}

/** One level of the tree: folders first, then files, by name. `children` holds entries and implicit folders. */
export function folderPage(data: { path: string; children: Entry[]; notice?: string }): string {
  const order = (e: Entry) => (e.kind === 'folder' ? 0 : 1);
  const items = [...data.children]
    .sort((a, b) => order(a) - order(b) || baseName(a.path).localeCompare(baseName(b.path)))
    .map((entry) => {
      const name = escapeName(baseName(entry.path));
      const meta =
        entry.kind === 'folder'
          ? ''
          : `<span class="meta">${formatBytes(entry.size ?? 0)} · ${timeTag(entry.updatedAt)}</span>`;
      const label =
        entry.kind === 'site' ? `${name} <span class="muted">(${escapeHtml(entry.name ?? '')})</span>` : name;
      return `<li data-path="${escapeHtml(entry.path)}" data-kind="${entry.kind}"><span class="kind">${entry.kind}</span>
  <a class="name" href="${escapeHtml(filesHref(entry.path))}">${label}${entry.kind === 'folder' ? '/' : ''}</a>${meta}</li>`;
    })
    .join('\n');
  const list =
    items === ''
      ? '<p class="muted" id="empty-folder">This folder is empty.</p>'
      : `<ul class="tree" id="tree">${items}</ul>`;
  const notice = data.notice ? `<p id="notice">${escapeName(data.notice)}</p>` : '';
  const title = data.path === '' ? 'Files' : baseName(data.path);
  return layout(title, `${crumbs(data.path)}${notice}<h1>${escapeName(title)}</h1>${list}`);
}

/** The preview of a file's content by its type; only text and images are ever shown, nothing active. */
function preview(entry: Entry, content: Buffer): string {
  const ext = extensionOf(entry.path);
  if (IMAGE_EXTENSIONS.has(ext) && entry.kind === 'upload') {
    return `<img class="preview" id="image-preview" alt="${escapeHtml(baseName(entry.path))}" src="/dashboard/image/${escapeHtml(encodePath(entry.path))}">`;
  }
  if (!TEXT_EXTENSIONS.has(ext)) return '<p class="muted" id="no-preview">No preview for this type of file.</p>';
  const text = content.subarray(0, MAX_TEXT_SHOWN).toString('utf8');
  const cut =
    content.length > MAX_TEXT_SHOWN
      ? `<p class="muted">Only the first ${formatBytes(MAX_TEXT_SHOWN)} are shown.</p>`
      : '';
  if (MARKDOWN_EXTENSIONS.has(ext))
    return `${cut}<article class="markdown" id="markdown">${markdown.render(text, { folder: folderOf(entry.path) })}</article>`;
  const svgNote = ext === 'svg' ? '<p class="muted">SVG is shown as text: it can hold scripts.</p>' : '';
  return `${svgNote}${cut}<pre class="text" id="text-preview">${escapeHtml(text)}</pre>`;
}

export function filePage(data: { entry: Entry; content: Buffer; siteUrl: string | null }): string {
  const { entry } = data;
  const name = escapeHtml(entry.name ?? '');
  const base = `/dashboard/sites/${name}`;
  const actions =
    entry.kind === 'site'
      ? `<a href="/${name}" class="button" id="open-site">Open</a><a href="${base}/edit" class="button">Edit</a>
<a href="${base}" class="button">Versions</a><a href="${base}/delete" class="button danger">Delete…</a>`
      : `<a href="/dashboard/uploads/delete?path=${escapeHtml(encodeURIComponent(entry.path))}" class="button danger" id="delete-upload">Delete…</a>`;
  const where = data.siteUrl
    ? ` · <a href="${escapeHtml(data.siteUrl)}">${escapeHtml(new URL(data.siteUrl).host)}</a>`
    : '';
  return layout(
    baseName(entry.path),
    `${crumbs(entry.path)}<h1>${escapeName(baseName(entry.path))}</h1>
<p class="muted">${entry.kind === 'site' ? `site ${name}` : 'upload'} · v${entry.version ?? 0} · ${formatBytes(entry.size ?? 0)} · ${timeTag(entry.updatedAt)}${where}</p>
<p class="actions">${actions}</p>
${preview(entry, data.content)}
<p><a href="${escapeHtml(filesHref(folderOf(entry.path)))}">← Back to the folder</a></p>`,
  );
}
