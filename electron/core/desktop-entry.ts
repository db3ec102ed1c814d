// Linux: the desktop entry that makes the browser hand `<scheme>://` links to the app (deb ships it; an AppImage
// writes it at first run, pointing at its own file).

const SAFE_EXEC_PATH = /^\/[^\s"'`$\\%;&|<>()*?[\]{}]+$/;

export const DESKTOP_FILE_NAME = 'hyperclay-sync.desktop';

/** The entry's text, or null when the AppImage path cannot be written into an Exec line safely. */
export function desktopEntry(input: { appImagePath: string; scheme: string }): string | null {
  if (!SAFE_EXEC_PATH.test(input.appImagePath)) return null;
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Hyperclay Sync',
    'Comment=Keep a folder of Hyperclay sites in sync',
    `Exec=${input.appImagePath} %u`,
    'Icon=hyperclay-sync',
    'Terminal=false',
    'Categories=Utility;',
    `MimeType=x-scheme-handler/${input.scheme};`,
    'NoDisplay=false',
    '',
  ].join('\n');
}
