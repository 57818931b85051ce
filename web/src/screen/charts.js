// The screen's ECharts: bundled from npm (echarts/core with only the parts used), canvas
// renderer at the wall's resolution (devicePixelRatio × stage scale). ECharts fixes a chart's
// pixel ratio when it is created, so a change of scale re-creates the charts with their options.

import * as echarts from 'echarts/core';
import { BarChart, LineChart, PieChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([BarChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

const FONT = '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif';
const TEXT = '#9fb8d6';
const AXIS = 'rgba(120, 170, 230, 0.25)';
const CYAN = '#35d0ff';
const PALETTE = ['#35d0ff', '#3d8bff', '#7b6cff', '#29d9a1', '#ffc53d', '#ff7a45', '#f759ab', '#9ad34c', '#40a9ff', '#b37feb'];

const base = {
  backgroundColor: 'transparent',
  color: PALETTE,
  textStyle: { fontFamily: FONT, color: TEXT, fontSize: 14 },
  animationDuration: 400,
  animationDurationUpdate: 400,
  tooltip: { show: false },
};

const axisStyle = {
  axisLine: { lineStyle: { color: AXIS } },
  axisTick: { show: false },
  axisLabel: { color: TEXT, fontSize: 13, fontFamily: FONT },
  splitLine: { lineStyle: { color: 'rgba(120, 170, 230, 0.10)' } },
};

/** Options per chart from the API's answers; each is a pure function of its data. */
export const OPTIONS = {
  trend(buckets) {
    const days = buckets.map((b) => String(b.start).slice(5, 10));
    return {
      ...base,
      grid: { left: 48, right: 16, top: 34, bottom: 28 },
      legend: { top: 0, right: 8, textStyle: { color: TEXT, fontSize: 13 }, itemWidth: 14, itemHeight: 8, data: ['上报', '已结案'] },
      xAxis: { type: 'category', data: days, boundaryGap: false, ...axisStyle, axisLabel: { ...axisStyle.axisLabel, interval: 6 } },
      yAxis: { type: 'value', ...axisStyle, axisLine: { show: false } },
      series: [
        {
          name: '上报',
          type: 'line',
          smooth: 0.3,
          symbol: 'none',
          data: buckets.map((b) => b.count),
          lineStyle: { width: 2, color: CYAN },
          areaStyle: {
            color: new echarts.graphic.LinearGradient(0, 0, 0, 1, [
              { offset: 0, color: 'rgba(53, 208, 255, 0.45)' },
              { offset: 1, color: 'rgba(53, 208, 255, 0.02)' },
            ]),
          },
        },
        { name: '已结案', type: 'line', smooth: 0.3, symbol: 'none', data: buckets.map((b) => b.closed), lineStyle: { width: 2, color: '#29d9a1' }, itemStyle: { color: '#29d9a1' } },
      ],
    };
  },

  /** Horizontal bars, largest on top: [{name, value}]. */
  ranking(rows, color = CYAN) {
    const data = rows.slice().reverse();
    return {
      ...base,
      grid: { left: 8, right: 56, top: 6, bottom: 4, containLabel: true },
      xAxis: { type: 'value', show: false },
      yAxis: { type: 'category', data: data.map((r) => r.name), ...axisStyle, axisLine: { show: false }, axisLabel: { ...axisStyle.axisLabel, color: '#d3e3f5', width: 120, overflow: 'truncate' } },
      series: [
        {
          type: 'bar',
          data: data.map((r) => r.value),
          barWidth: '55%',
          showBackground: true,
          backgroundStyle: { color: 'rgba(120, 170, 230, 0.06)', borderRadius: 3 },
          itemStyle: {
            borderRadius: 3,
            color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [
              { offset: 0, color: 'rgba(61, 139, 255, 0.35)' },
              { offset: 1, color },
            ]),
          },
          label: { show: true, position: 'right', color: '#e6f1ff', fontSize: 13, fontFamily: FONT },
        },
      ],
    };
  },

  /** Donut of the sources: [{name, value}]. */
  sources(rows) {
    return {
      ...base,
      legend: { orient: 'vertical', right: 4, top: 'middle', textStyle: { color: TEXT, fontSize: 13 }, itemWidth: 10, itemHeight: 10, itemGap: 8 },
      series: [
        {
          type: 'pie',
          radius: ['42%', '72%'],
          center: ['32%', '52%'],
          avoidLabelOverlap: true,
          // Slices under 5% keep their colour and legend entry but no label (they would overlap).
          label: { show: true, position: 'inside', formatter: (p) => (p.percent >= 5 ? `${Math.round(p.percent)}%` : ''), color: '#fff', fontSize: 13, fontFamily: FONT },
          labelLine: { show: false },
          itemStyle: { borderColor: '#061529', borderWidth: 2 },
          data: rows,
        },
      ],
    };
  },

  /** Closure rate per child area (vertical bars, %, lowest first), with the event count as a line. */
  closure(rows) {
    return {
      ...base,
      grid: { left: 44, right: 44, top: 30, bottom: 8, containLabel: true },
      legend: { top: 0, right: 8, textStyle: { color: TEXT, fontSize: 13 }, itemWidth: 14, itemHeight: 8, data: ['结案率', '事件数'] },
      xAxis: { type: 'category', data: rows.map((r) => r.name), ...axisStyle, axisLabel: { ...axisStyle.axisLabel, interval: 0, rotate: rows.length > 12 ? 45 : 0, fontSize: 12 } },
      yAxis: [
        { type: 'value', min: 0, max: 100, ...axisStyle, axisLine: { show: false }, axisLabel: { ...axisStyle.axisLabel, formatter: '{value}%' } },
        { type: 'value', ...axisStyle, axisLine: { show: false }, splitLine: { show: false } },
      ],
      series: [
        {
          name: '结案率',
          type: 'bar',
          barMaxWidth: 22,
          data: rows.map((r) => ({
            value: Math.round((r.closure_rate ?? 0) * 1000) / 10,
            itemStyle: { color: (r.closure_rate ?? 0) >= 0.8 ? '#29d9a1' : (r.closure_rate ?? 0) >= 0.6 ? '#ffc53d' : '#ff7a45', borderRadius: [3, 3, 0, 0] },
          })),
        },
        { name: '事件数', type: 'line', yAxisIndex: 1, symbol: 'circle', symbolSize: 4, data: rows.map((r) => r.count), lineStyle: { width: 1.5, color: CYAN }, itemStyle: { color: CYAN } },
      ],
    };
  },
};

/**
 * The charts of the page: `set(id, option)` draws one (resolving when it has finished drawing),
 * `rescale(pixelRatio)` re-creates them at a new pixel ratio, `resize()` follows their boxes.
 */
export function createCharts(containers, pixelRatio) {
  const charts = {};
  const options = {};
  let ratio = pixelRatio;

  function init(id) {
    charts[id] = echarts.init(containers[id], null, { renderer: 'canvas', devicePixelRatio: ratio });
  }
  for (const id of Object.keys(containers)) init(id);

  return {
    charts,
    set(id, option) {
      options[id] = option;
      const chart = charts[id];
      return new Promise((resolve) => {
        // 'finished' comes once drawn; a chart re-created meanwhile (rescale) never sends it, so a
        // refresh is never left waiting longer than a few seconds.
        const done = () => {
          clearTimeout(timer);
          chart.off('finished', done);
          resolve();
        };
        const timer = setTimeout(done, 5000);
        chart.off('finished');
        chart.on('finished', done);
        chart.setOption(option, { notMerge: true });
      });
    },
    rescale(pixelRatio) {
      if (Math.abs(pixelRatio - ratio) < 1e-6) return this.resize();
      ratio = pixelRatio;
      for (const id of Object.keys(containers)) {
        charts[id].dispose();
        init(id);
        if (options[id]) charts[id].setOption(options[id], { notMerge: true });
      }
    },
    resize() {
      for (const c of Object.values(charts)) c.resize();
    },
    get ratio() {
      return ratio;
    },
  };
}
