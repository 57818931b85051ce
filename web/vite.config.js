// Vite builds the client into dist/: two pages, index.html (the desk client) and screen.html (the
// command centre's big screen), plus hashed files in dist/assets/, and copies public/ (the glyph
// PBFs in public/fonts/) as is. `npm run dev` proxies the API, the tiles and the styles to a
// running onemap server (ONEMAP_URL, default http://127.0.0.1:8080), and serves the big screen
// at /screen and /screen/{code} as the server does.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const target = process.env.ONEMAP_URL || 'http://127.0.0.1:8080';
const page = (name) => fileURLToPath(new URL(name, import.meta.url));

/** /screen and /screen/{code} → screen.html, in the dev server and `vite preview`. */
function screenRoutes() {
  const rewrite = (req, _res, next) => {
    const m = /^\/screen(?:\/\d+)?\/?(\?.*)?$/.exec(req.url || '');
    if (m) req.url = `/screen.html${m[1] || ''}`;
    next();
  };
  return {
    name: 'onemap-screen-routes',
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
  plugins: [screenRoutes()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
    rollupOptions: {
      input: { index: page('./index.html'), screen: page('./screen.html') },
    },
  },
  server: {
    proxy: Object.fromEntries(['/api', '/tiles', '/styles', '/readyz', '/healthz'].map((p) => [p, target])),
  },
});
