// Vite builds the client into dist/: five pages, index.html (the desk client), screen.html (the
// command centre's big screen), profile.html (a town's or village's profile, 一村一档),
// ledger.html (the ledgers, 一张表) and login.html (sign-in, served as is at /login.html), plus
// hashed files in dist/assets/, and copies public/ (the
// glyph PBFs in public/fonts/) as is. `npm run dev` proxies the API, the tiles and the styles to
// a running onemap server (ONEMAP_URL, default http://127.0.0.1:8080), and serves the pages'
// routes as the server does: /screen and /screen/{code}, /profile/{code}, /ledger.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const target = process.env.ONEMAP_URL || 'http://127.0.0.1:8080';
const page = (name) => fileURLToPath(new URL(name, import.meta.url));

/** The pages' routes, in the dev server and `vite preview`, as `onemap serve` answers them. */
const ROUTES = [
  [/^\/screen(?:\/\d+)?\/?(\?.*)?$/, '/screen.html'], // /screen, /screen/{code}
  [/^\/profile\/\d+\/?(\?.*)?$/, '/profile.html'], // /profile/{code}: the page reads the code from the path
  [/^\/ledger\/?(\?.*)?$/, '/ledger.html'], // /ledger
];

function pageRoutes() {
  const rewrite = (req, _res, next) => {
    for (const [re, page] of ROUTES) {
      const m = re.exec(req.url || '');
      if (m) {
        // Keep the original path visible to the page (location.pathname is the browser's anyway).
        req.url = `${page}${m[1] || ''}`;
        break;
      }
    }
    next();
  };
  return {
    name: 'onemap-page-routes',
    configureServer(server) {
      server.middlewares.use(rewrite);
    },
    configurePreviewServer(server) {
      server.middlewares.use(rewrite);
    },
  };
}

export default defineConfig({
  base: '/',
  plugins: [pageRoutes()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
    rollupOptions: {
      input: {
        index: page('./index.html'),
        screen: page('./screen.html'),
        profile: page('./profile.html'),
        ledger: page('./ledger.html'),
        login: page('./login.html'),
      },
      // MapLibre in a chunk of its own, named for it, whatever else the map and the big screen
      // share (the live stream's client, src/screen/stream.js, is used by both).
      output: { manualChunks: (id) => (id.includes('/node_modules/maplibre-gl/') ? 'maplibre-gl' : undefined) },
    },
  },
  server: {
    proxy: Object.fromEntries(['/api', '/tiles', '/styles', '/readyz', '/healthz'].map((p) => [p, target])),
  },
});
