"""Draws the scaling figures of a benchmark run as a PNG, with Pillow only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont


def _chart(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    points: list[tuple[float, float]],
    title: str,
    x_label: str,
    y_label: str,
    reference: list[tuple[float, float]] | None = None,
) -> None:
    left, top, right, bottom = box
    font = ImageFont.load_default(size=14)
    small = ImageFont.load_default(size=12)
    # The title, then the y axis's unit on a line of its own above the top tick's label.
    draw.text((left, top - 46), title, fill="#111", font=ImageFont.load_default(size=16))
    draw.text((left - 50, top - 24), y_label, fill="#111", font=small)
    draw.line([(left, top), (left, bottom), (right, bottom)], fill="#333", width=2)
    xs = [x for x, _ in points] + [x for x, _ in reference or []]
    ys = [y for _, y in points] + [y for _, y in reference or []]
    x_max, y_max = max(xs) or 1, (max(ys) or 1) * 1.1

    def at(x: float, y: float) -> tuple[float, float]:
        return left + (right - left) * x / x_max, bottom - (bottom - top) * y / y_max

    for step in range(5):
        y = y_max * step / 4
        _, py = at(0, y)
        draw.line([(left - 4, py), (right, py)], fill="#e5e5e5")
        draw.text((left - 48, py - 7), f"{y:.1f}", fill="#555", font=small)
    if reference:
        draw.line([at(x, y) for x, y in reference], fill="#c44", width=2)
    draw.line([at(x, y) for x, y in points], fill="#2563eb", width=3)
    for x, y in points:
        px, py = at(x, y)
        draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill="#2563eb")
        draw.text((px - 8, bottom + 6), f"{x:g}", fill="#555", font=small)
    draw.text(((left + right) / 2 - 40, bottom + 26), x_label, fill="#111", font=font)


def _realistic(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], jobs: list[Any]) -> None:
    """Each real-world job's time (blue) over its ideal for the same draws (red), jobs
    sorted by ideal; the p95 of both as dashed lines."""
    left, top, right, bottom = box
    small = ImageFont.load_default(size=12)
    title = "Real-world scenario: job time (blue) vs its ideal (red), jobs sorted by ideal"
    draw.text((left, top - 28), title, fill="#111", font=ImageFont.load_default(size=16))
    draw.line([(left, top), (left, bottom), (right, bottom)], fill="#333", width=2)
    ordered = sorted((float(i), float(a)) for i, a in jobs)
    y_max = max(a for pair in ordered for a in pair) * 1.1
    step = (right - left) / max(len(ordered), 1)

    def y_at(value: float) -> float:
        return bottom - (bottom - top) * value / y_max

    for tick in range(5):
        value = y_max * tick / 4
        draw.line([(left - 4, y_at(value)), (right, y_at(value))], fill="#e5e5e5")
        draw.text((left - 48, y_at(value) - 7), f"{value:.0f} s", fill="#555", font=small)
    for n, (ideal, actual) in enumerate(ordered):
        x = left + step * (n + 0.5)
        draw.rectangle([x - step * 0.3, y_at(actual), x + step * 0.3, bottom], fill="#93b4f5")
        draw.line(
            [(x - step * 0.4, y_at(ideal)), (x + step * 0.4, y_at(ideal))], fill="#c44", width=3
        )
    for values, colour, label, offset in (
        ([a for _, a in ordered], "#2563eb", "p95 job", -16),
        ([i for i, _ in ordered], "#c44", "p95 ideal", 2),
    ):
        values = sorted(values)
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        for x in range(left, right, 12):
            draw.line([(x, y_at(p95)), (x + 6, y_at(p95))], fill=colour, width=1)
        draw.text((right + 4, y_at(p95) + offset), f"{label} {p95:.1f}", fill=colour, font=small)
    draw.text(
        ((left + right) / 2 - 60, bottom + 8), f"{len(ordered)} jobs", fill="#111", font=small
    )


def plot_results(results: dict[str, Any], path: Path) -> None:
    jobs = results.get("realistic_by_job") or []
    image = Image.new("RGB", (1100, 880 if jobs else 480), "white")
    draw = ImageDraw.Draw(image)
    # (box, results key, title, x label, y label, the red reference line's height)
    charts = [
        ((90, 70, 520, 400), "job_s_by_panels", "Job wall time vs panels (blue); ideal, red",
         "panels per job", "seconds", float(results["ideal_s"])),
        ((640, 70, 1060, 400), "throughput_by_jobs",
         "Throughput vs concurrent jobs (blue); ceiling, red", "concurrent jobs (8 panels each)",
         "panels/s", float(results.get("ceiling_panels_per_s", 0))),
    ]  # fmt: skip
    for box, key, title, x_label, y_label, reference in charts:
        points = sorted((float(k), float(v)) for k, v in results[key].items())
        _chart(
            draw,
            box,
            points,
            title,
            x_label,
            y_label,
            reference=[(x, reference) for x, _ in points],
        )
    if jobs:
        _realistic(draw, (90, 520, 960, 820), jobs)
    draw.text(
        (90, image.height - 35),
        results.get("machine", ""),
        fill="#555",
        font=ImageFont.load_default(size=12),
    )
    image.save(path)
