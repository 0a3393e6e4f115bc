"""Streaming benchmark: memory must not grow with the corpus.

Generates N articles (default 100,000) on the fly into a temporary directory as .jsonl.gz shards
(or many small files), in 12 languages and 5 scripts from sentence templates written for this
benchmark, runs ``ingest.runtime.pipeline.run_pipeline`` over them (the default worker pool, ``ingest.runtime.workers``) and
prints throughput and the peak memory of the whole process tree, sampled along the run to show it
stays flat: as PSS (what the run occupies: lingua's ~1.3 GB of models live once, in the pool's
fork server, shared by its workers) and as summed RSS (which counts those shared pages once per
process).

    python bench/stream_100k.py                      # 100,000 articles, one worker per core
    python bench/stream_100k.py --n 20000 --workers 1
    python bench/stream_100k.py --format files --n 5000
    python bench/stream_100k.py --language-stub       # see below

Target (issue 16): peak PSS of the whole run at most 1.5 GB, flat from 1,000 to 100,000 articles.  Without translation models installed, translation ends in
``no_model`` (pass --no-translate to skip the step).

``--language-stub`` replaces language identification (langdetect costs ~3-17 ms per segment,
over 90% of the run time here) by a cheap script-based stand-in, in this process and in the worker
processes, so that 100,000 articles run in minutes on two cores: it measures the streaming
machinery (loading, extraction, staging, commit, idempotency sets, writing), not language ID.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest.language import detect as language_mod  # noqa: E402
from ingest.runtime.pipeline import process_batch, run_pipeline  # noqa: E402
from ingest.settings import Settings  # noqa: E402

# {place}, {who}, {n} are filled per article; every sentence written for this benchmark
TEMPLATES = {
    "en": ["The council of {place} approved {n} new homes near the old harbour.",
           "{who} said the railway line would reopen after the spring floods.",
           "Schools in {place} will receive {n} new computers before the exams.",
           "Farmers around {place} reported a strong harvest despite the dry summer."],
    "de": ["Der Rat von {place} hat {n} neue Wohnungen am alten Hafen genehmigt.",
           "{who} sagte, die Bahnstrecke werde nach dem Frühjahrshochwasser wieder geöffnet.",
           "Die Schulen in {place} erhalten vor den Prüfungen {n} neue Computer.",
           "Die Landwirte rund um {place} berichten trotz des trockenen Sommers von einer guten Ernte."],
    "fr": ["Le conseil de {place} a approuvé {n} nouveaux logements près du vieux port.",
           "{who} a déclaré que la ligne de chemin de fer rouvrira après les crues du printemps.",
           "Les écoles de {place} recevront {n} nouveaux ordinateurs avant les examens.",
           "Les agriculteurs autour de {place} annoncent une bonne récolte malgré l'été sec."],
    "es": ["El consejo de {place} aprobó {n} viviendas nuevas cerca del puerto viejo.",
           "{who} dijo que la línea de tren volverá a abrir después de las inundaciones de primavera.",
           "Las escuelas de {place} recibirán {n} ordenadores nuevos antes de los exámenes.",
           "Los agricultores de {place} informan de una buena cosecha a pesar del verano seco."],
    "it": ["Il consiglio di {place} ha approvato {n} nuove case vicino al porto vecchio.",
           "{who} ha detto che la linea ferroviaria riaprirà dopo le alluvioni di primavera.",
           "Le scuole di {place} riceveranno {n} nuovi computer prima degli esami.",
           "Gli agricoltori intorno a {place} parlano di un buon raccolto nonostante l'estate secca."],
    "pt": ["A câmara de {place} aprovou {n} casas novas perto do porto antigo.",
           "{who} disse que a linha de comboio vai reabrir depois das cheias da primavera.",
           "As escolas de {place} vão receber {n} computadores novos antes dos exames.",
           "Os agricultores de {place} relatam uma boa colheita apesar do verão seco."],
    "nl": ["De gemeenteraad van {place} heeft {n} nieuwe woningen bij de oude haven goedgekeurd.",
           "{who} zei dat de spoorlijn na de overstromingen in het voorjaar weer opengaat.",
           "De scholen in {place} krijgen voor de examens {n} nieuwe computers.",
           "Boeren rond {place} melden ondanks de droge zomer een goede oogst."],
    "pl": ["Rada miasta {place} zatwierdziła {n} nowych mieszkań w pobliżu starego portu.",
           "{who} powiedział, że linia kolejowa zostanie ponownie otwarta po wiosennych powodziach.",
           "Szkoły w {place} otrzymają {n} nowych komputerów przed egzaminami.",
           "Rolnicy z okolic {place} mówią o dobrych zbiorach mimo suchego lata."],
    "sv": ["Kommunfullmäktige i {place} godkände {n} nya bostäder nära den gamla hamnen.",
           "{who} sade att järnvägen öppnar igen efter vårens översvämningar.",
           "Skolorna i {place} får {n} nya datorer före proven.",
           "Bönderna runt {place} rapporterar en god skörd trots den torra sommaren."],
    "ru": ["Совет города {place} одобрил строительство {n} новых домов у старой гавани.",
           "{who} сказал, что железная дорога откроется снова после весеннего паводка.",
           "Школы города {place} получат {n} новых компьютеров перед экзаменами.",
           "Фермеры вокруг города {place} сообщают о хорошем урожае несмотря на сухое лето."],
    "hi": ["{place} की नगर परिषद ने पुराने बंदरगाह के पास {n} नए घरों को मंज़ूरी दी।",
           "{who} ने कहा कि वसंत की बाढ़ के बाद रेल लाइन फिर से खुलेगी।",
           "{place} के स्कूलों को परीक्षा से पहले {n} नए कंप्यूटर मिलेंगे।",
           "{place} के आसपास के किसानों ने सूखी गर्मी के बावजूद अच्छी फसल की सूचना दी।"],
    "ja": ["{place}の市議会は古い港の近くに{n}戸の新しい住宅を建てる計画を承認した。",
           "{who}は春の洪水の後に鉄道が再開すると述べた。",
           "{place}の学校には試験の前に{n}台の新しいコンピューターが届く。",
           "{place}の周辺の農家は乾いた夏にもかかわらず豊作だったと話している。"],
}
PLACES = ["Norbridge", "Valmora", "Kestrel Bay", "Alder Falls", "Tarnholm", "Brisa", "Ostvik", "Lindqvist"]
WHO = ["Mayor Ana Ruiz", "Minister Tomas Berg", "Engineer Priya Nair", "Director Kenji Mori", "Chief Olga Petrova"]
HINDI_HEADING = "ताज़ा ख़बर: {place} में आज की मुख्य घटनाएँ"


_SCRIPTS = (("\u0900", "\u097f", "hi"), ("\u0400", "\u04ff", "ru"), ("\u3040", "\u30ff", "ja"),
            ("\u4e00", "\u9fff", "ja"))


def _stub_detect(text: str) -> tuple[str, float]:
    counts: dict[str, int] = {}
    for ch in text[:200]:
        if ch.isalpha():
            lang = next((code for lo, hi, code in _SCRIPTS if lo <= ch <= hi), "en")
            counts[lang] = counts.get(lang, 0) + 1
    return (max(counts, key=counts.get), 0.9) if counts else ("und", 0.0)


def _stub_annotate(article, settings):
    article.language, article.language_confidence = _stub_detect(article.text or article.title or "")
    for segment in article.segments:
        segment.language, segment.confidence = _stub_detect(segment.text)
    article.is_mixed_language = any(s.language not in (article.language, "und") for s in article.segments)
    return article


def install_language_stub(enabled: bool) -> None:
    if enabled:
        language_mod.annotate = _stub_annotate


def make_record(i: int, rng: random.Random, html_ratio: float) -> dict:
    lang = list(TEMPLATES)[i % len(TEMPLATES)]
    fill = {"place": rng.choice(PLACES), "who": rng.choice(WHO), "n": rng.randint(2, 9000)}
    sentences = TEMPLATES[lang]
    paragraphs = []
    for _ in range(rng.randint(2, 4)):
        picked = rng.sample(sentences, 2)
        paragraphs.append(" ".join(s.format(**fill) for s in picked) + f" [{i}]")
    title = sentences[i % 4].format(**fill)[:90]
    record = {"url": f"https://bench.example/{lang}/{i}", "title": title,
              "published_at": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"}
    if lang == "en" and i % 17 == 0:  # a mixed-language article: Hindi heading atop English text
        paragraphs.insert(0, HINDI_HEADING.format(**fill))
    if rng.random() < html_ratio:
        body = "".join(f"<p>{p}</p>" for p in paragraphs)
        record["html"] = (f"<html lang='{lang}'><head><title>{title}</title></head><body><article><h1>{title}</h1>"
                          f"{body}</article></body></html>")
    else:
        record["text"] = "\n".join(paragraphs)
    return record


def generate(target: Path, n: int, fmt: str, shard: int, html_ratio: float, seed: int) -> int:
    rng = random.Random(seed)
    target.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        fh = None
        for i in range(n):
            if i % shard == 0:
                if fh:
                    fh.close()
                fh = gzip.open(target / f"shard-{i // shard:05d}.jsonl.gz", "wt", encoding="utf-8", compresslevel=3)
            fh.write(json.dumps(make_record(i, rng, html_ratio), ensure_ascii=False) + "\n")
        if fh:
            fh.close()
    else:
        for i in range(n):
            rec = make_record(i, rng, html_ratio)
            sub = target / f"{i // 1000:04d}"
            sub.mkdir(exist_ok=True)
            if "html" in rec:
                (sub / f"a{i:07d}.html").write_text(rec["html"], encoding="utf-8")
            else:
                (sub / f"a{i:07d}.txt").write_text(rec["title"] + "\n" + rec["text"], encoding="utf-8")
    return sum(f.stat().st_size for f in target.rglob("*") if f.is_file())


def _memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in KiB; PSS counts a page shared by k processes as 1/k."""
    rss = pss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Rss:"):
                    rss = int(line.split()[1])
                elif line.startswith("Pss:"):
                    pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


def _descendants(pid: int) -> list[int]:
    """Children, grandchildren, ... (the worker pool's fork server and the workers it forks)."""
    import psutil

    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


class RssSampler(threading.Thread):
    """Samples the memory of this process and its descendants (Linux /proc) every ``interval``
    seconds: the sum of RSS (shared pages counted once per process that maps them) and the sum of
    PSS (shared pages counted once in all: what the run occupies in RAM)."""

    def __init__(self, interval: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.interval, self.stop_event = interval, threading.Event()
        self.peak_self = self.peak_total = self.peak_pss = 0
        self.last_self = self.last_total = self.last_pss = 0

    def run(self) -> None:
        pid = os.getpid()
        while not self.stop_event.is_set():
            me, my_pss = _memory_kb(pid)
            others = [_memory_kb(c) for c in _descendants(pid)]
            total, pss = me + sum(r for r, _ in others), my_pss + sum(p for _, p in others)
            self.last_self, self.last_total, self.last_pss = me, total, pss
            self.peak_self, self.peak_total = max(self.peak_self, me), max(self.peak_total, total)
            self.peak_pss = max(self.peak_pss, pss)
            self.stop_event.wait(self.interval)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="articles to generate")
    parser.add_argument("--format", choices=["jsonl", "files"], default="jsonl")
    parser.add_argument("--shard", type=int, default=2_000, help="lines per .jsonl.gz shard (one work item)")
    parser.add_argument("--html-ratio", type=float, default=0.1, help="share of records given as HTML")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="documents per batch (default: the pipeline's; shards are cut into record ranges)")
    parser.add_argument("--max-batch-records", type=int, default=1000)
    parser.add_argument("--no-translate", action="store_true")
    parser.add_argument("--language-backend", choices=["lingua", "langdetect"], default=None)
    parser.add_argument("--language-stub", action="store_true",
                        help="cheap script-based language ID (measures the streaming machinery, not language ID)")
    parser.add_argument("--keep", metavar="DIR", help="generate and write into DIR and keep it")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="stream-bench-"))
    try:
        started = time.perf_counter()
        size = generate(work / "in", args.n, args.format, args.shard, args.html_ratio, args.seed)
        print(f"generated {args.n:,} articles ({args.format}, {size / 1e6:.1f} MB) in "
              f"{time.perf_counter() - started:.1f}s under {work}", flush=True)

        settings = Settings(out=str(work / "out"), workers=args.workers,
                            **({"batch_size": args.batch_size} if args.batch_size else {}),
                            max_batch_records=args.max_batch_records, translate=not args.no_translate,
                            **({"language_backend": args.language_backend} if args.language_backend else {}))
        sampler = RssSampler()
        sampler.start()
        checkpoints: list[tuple[int, float, int, int]] = []
        begun = time.perf_counter()

        every = max(1000, args.n // 20)

        def progress(summary) -> None:
            checkpoints.append((summary.inputs, time.perf_counter() - begun, sampler.last_self, sampler.last_pss))
            if summary.inputs // every > (checkpoints[-2][0] if len(checkpoints) > 1 else 0) // every:
                # a line along the way, so that a run cut short still shows how memory went
                print(f"  {summary.inputs:>9,} done after {checkpoints[-1][1]:7.1f}s: whole run "
                      f"{sampler.last_pss / 1024:.0f} MB PSS now, {sampler.peak_pss / 1024:.0f} MB peak",
                      file=sys.stderr, flush=True)

        install_language_stub(args.language_stub)
        executor = None
        submit = None
        if args.workers > 1 and args.language_stub:  # our own pool, so that the workers get the stub too
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            executor = ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn"),
                                           initializer=install_language_stub, initargs=(args.language_stub,))
            submit = lambda batch, s, run_id: executor.submit(process_batch, batch, s, run_id)  # noqa: E731
        try:
            summary = run_pipeline([str(work / "in")], settings, progress=progress, submit=submit)
        finally:
            if executor is not None:
                executor.shutdown()
        seconds = time.perf_counter() - begun
        sampler.stop_event.set()
        sampler.join()

        self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out_size = sum(f.stat().st_size for f in (work / "out").rglob("*.parquet"))
        d = summary.to_dict()
        print(f"inputs {d['inputs']:,}: articles {d['articles']:,}, rejects {d['rejects']:,} "
              f"({d['rejects_by_reason'] or 'none'}), balanced={summary.balanced}")
        print(f"languages: {d['languages']}")
        print(f"mixed: {d['mixed']}, translation: {d['translation']}, stories: {d['stories']:,}")
        if args.language_stub:
            print("language ID: script-based stub (--language-stub)")
        print(f"time {seconds:.1f}s, throughput {d['inputs'] / seconds:.1f} articles/s "
              f"({args.workers} worker(s)); output {out_size / 1e6:.1f} MB Parquet")
        print(f"peak memory of the whole run (this process, the pool's fork server and its workers, "
              f"sampled each second): {sampler.peak_pss / 1024:.0f} MB PSS (shared pages counted once); "
              f"{sampler.peak_total / 1024:.0f} MB summed RSS (shared pages, e.g. lingua's models in the "
              f"fork server, counted once per process that maps them); this process alone "
              f"{self_peak / 1024:.0f} MB peak RSS (getrusage)")
        if checkpoints:
            print("memory along the run (inputs done: this process RSS MB / whole run PSS MB):")
            marks = sorted({min(len(checkpoints) - 1, int(len(checkpoints) * f)) for f in (0.1, 0.25, 0.5, 0.75, 1.0)})
            for i in marks:
                done, t, me, total = checkpoints[i]
                print(f"  {done:>9,} after {t:7.1f}s: {me / 1024:7.0f} / {total / 1024:7.0f}")
        target_ok = max(self_peak, sampler.peak_pss) / 1024 <= 1536
        print(f"target peak memory <= 1.5 GB (whole run, PSS): {'met' if target_ok else 'NOT met'}")
        return 0 if summary.balanced else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
