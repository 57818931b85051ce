// The profile page's charts: ECharts bundled from npm (echarts/core with only the bar and line
// charts), drawn as SVG so that they print sharp at any scale. Colours follow the page's theme;
// printing always uses the light palette.

import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
import { monthLabel } from './model.js';

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

const FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif';

/** Colours per theme (keep in step with src/theme.css). */
export const PALETTES = {
  light: { text: '#5b6170', faint: '#8a909c', line: '#e3e1dc', accent: '#1f5fbf', ok: '#1a7f37', warn: '#b4560c', other: '#8a909c', tooltipBg: '#ffffff', tooltipFg: '#1f2328' },
  dark: { text: '#a9bdd6', faint: '#6f86a3', line: '#21385a', accent: '#5fc4ff', ok: '#4cd07d', warn: '#ffb020', other: '#6f86a3', tooltipBg: '#13233b', tooltipFg: '#e6f1ff' },
};

function base(p, animation) {
  return {
    backgroundColor: 'transparent',
    animation,
    animationDuration: 300,
    textStyle: { fontFamily: FONT, color: p.text, fontSize: 12 },
    tooltip: { trigger: 'axis', backgroundColor: p.tooltipBg, borderColor: p.line, textStyle: { color: p.tooltipFg, fontFamily: FONT } },
  };
}

function axis(p) {
  return {
    axisLine: { lineStyle: { color: p.line } },
    axisTick: { show: false },
    axisLabel: { color: p.text, fontFamily: FONT, fontSize: 12 },
    splitLine: { lineStyle: { color: p.line, type: 'dashed' } },
  };
}

/** Options per chart from the figures' answer; pure functions of data and palette. */
export const OPTIONS = {
  /** Events per month (bars) and how many of them are closed (line), oldest first. */
  months(months, p, animation = true) {
    return {
      ...base(p, animation),
      grid: { left: 8, right: 12, top: 30, bottom: 4, containLabel: true },
      legend: { top: 0, right: 4, itemWidth: 12, itemHeight: 8, textStyle: { color: p.text, fontFamily: FONT }, data: ['事件数', '已结案'] },
      xAxis: { type: 'category', data: months.map((m) => monthLabel(m.month)), ...axis(p), axisLabel: { ...axis(p).axisLabel, interval: 0, rotate: months.length > 8 ? 40 : 0 } },
      yAxis: { type: 'value', minInterval: 1, ...axis(p), axisLine: { show: false } },
      series: [
        { name: '事件数', type: 'bar', barMaxWidth: 22, data: months.map((m) => m.count), itemStyle: { color: p.accent, borderRadius: [3, 3, 0, 0] } },
        { name: '已结案', type: 'line', data: months.map((m) => m.closed), symbol: 'circle', symbolSize: 5, lineStyle: { width: 2, color: p.ok }, itemStyle: { color: p.ok } },
      ],
    };
  },

  /** Events per category, largest on top (horizontal bars). */
  categories(categories, p, animation = true) {
    const rows = categories.slice().sort((a, b) => b.count - a.count).slice(0, 10).reverse();
    return {
      ...base(p, animation),
      tooltip: { ...base(p, animation).tooltip, trigger: 'item' },
      grid: { left: 8, right: 40, top: 4, bottom: 4, containLabel: true },
      xAxis: { type: 'value', show: false },
      yAxis: { type: 'category', data: rows.map((r) => r.name || r.code), ...axis(p), axisLine: { show: false } },
      series: [
        {
          type: 'bar',
          barMaxWidth: 16,
          data: rows.map((r) => r.count),
          itemStyle: { color: p.accent, borderRadius: 3 },
          label: { show: true, position: 'right', color: p.text, fontFamily: FONT },
        },
      ],
    };
  },

  /** The area's closure rate against its parent's (the town's average), in %. */
  closure(closure, name, p, animation = true) {
    const rows = [
      { name: closure?.parent?.name ? `${closure.parent.name}平均` : '上级平均', value: closure?.parent_rate, color: p.other },
      { name, value: closure?.rate, color: (closure?.rate ?? 0) >= (closure?.parent_rate ?? 0) ? p.ok : p.warn },
    ];
    return {
      ...base(p, animation),
      tooltip: { show: false },
      grid: { left: 8, right: 56, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: 'value', min: 0, max: 100, show: false },
      yAxis: { type: 'category', data: rows.map((r) => r.name), ...axis(p), axisLine: { show: false } },
      series: [
        {
          type: 'bar',
          barMaxWidth: 22,
          showBackground: true,
          backgroundStyle: { color: p.line, opacity: 0.35, borderRadius: 3 },
          data: rows.map((r) => ({ value: typeof r.value === 'number' ? Math.round(r.value * 1000) / 10 : 0, itemStyle: { color: r.color, borderRadius: 3 } })),
          label: { show: true, position: 'right', color: p.text, fontFamily: FONT, formatter: (x) => `${x.value}%` },
        },
      ],
    };
  },
};

/**
 * Gives a chart's SVG a viewBox of its drawn size, so that CSS can scale it to any box (print)
 * without clipping; ECharts draws it at a fixed size.
 */
function fitSvg(node) {
  const svg = node.querySelector('svg');
  const w = Number(svg?.getAttribute('width'));
  const h = Number(svg?.getAttribute('height'));
  if (svg && w > 0 && h > 0) svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
}

/**
 * The page's charts on their containers ({id: element}); `draw(options)` sets each one's option
 * (drawn at once: ECharts flushes synchronously, which `beforeprint` relies on) and resolves once
 * all have finished; `resize(sizes?)` follows the boxes or takes {id: {width, height}}.
 */
export function createCharts(containers) {
  const charts = {};
  for (const [id, node] of Object.entries(containers)) charts[id] = echarts.init(node, null, { renderer: 'svg' });

  return {
    charts,
    draw(options) {
      return Promise.all(
        Object.entries(options).map(
          ([id, option]) =>
            new Promise((resolve) => {
              const chart = charts[id];
              const done = () => {
                clearTimeout(timer);
                chart.off('finished', done);
                resolve();
              };
              const timer = setTimeout(done, 5000);
              chart.on('finished', done);
              chart.setOption(option, { notMerge: true });
              fitSvg(containers[id]);
            }),
        ),
      );
    },
    resize(sizes = {}) {
      for (const [id, c] of Object.entries(charts)) {
        c.resize(sizes[id] ? { width: sizes[id].width, height: sizes[id].height, animation: { duration: 0 } } : { animation: { duration: 0 } });
        fitSvg(containers[id]);
      }
    },
  };
}
