// Vite builds the client into dist/: index.html plus hashed files in dist/assets/, and copies
// public/ (the glyph PBFs in public/fonts/) as is. `npm run dev` proxies the API, the tiles and
// the styles to a running onemap server (ONEMAP_URL, default http://127.0.0.1:8080).
import { defineConfig } from 'vite';

const target = process.env.ONEMAP_URL || 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
  server: {
    proxy: Object.fromEntries(['/api', '/tiles', '/styles', '/readyz', '/healthz'].map((p) => [p, target])),
  },
});
