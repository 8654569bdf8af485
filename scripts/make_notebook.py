"""Write notebooks/explore_results.ipynb from the cells below, without outputs (the notebook
stays reviewable as code; edit here and run ``python scripts/make_notebook.py``)."""

from pathlib import Path

import nbformat

CELLS = [
    ("md", "# Exploring fileproc results\n\n"
           "Every processed file is a record: its type and state, its description, the text "
           "found in it, and facts such as pages, duration or the time extraction took. This "
           "notebook reads the records of `FILEPROC_HOME` (by default the project's "
           "`.fileproc/`, which `scripts/run.sh` fills from `samples/`). With no record yet, "
           "it processes `../samples` first, in this process, with the same Dagster assets "
           "the daemon runs."),
    ("code", "import difflib\nimport os\nfrom pathlib import Path\nfrom urllib.parse import "
             "unquote, urlsplit\n\nimport matplotlib.pyplot as plt\nimport pandas as pd\n"
             "from IPython.display import HTML, display\n\n"
             "os.environ.setdefault('FILEPROC_HOME', str(Path('..', '.fileproc').resolve()))\n"
             "import fileproc_dagster as fp\n\n"
             "if fp.records().empty:\n"
             "    fp.process(sorted(Path('../samples').glob('*')))\n"
             "df = fp.records()\n"
             "print(f\"{len(df)} records in {os.environ['FILEPROC_HOME']}\")\n"
             "df[['name', 'type', 'state', 'words', 'pages', 'duration_s', 'description']]"),
    ("md", "## How many files of each type, in each state"),
    ("code", "counts = df.groupby(['type', 'state'], observed=True).size().unstack(fill_value=0)\n"
             "counts"),
    ("md", "## Extraction time per type\n\nThe seconds each file's text and facts took to "
           "extract (OCR, transcription...), one dot per file, the line at the median."),
    ("code", "timed = df.dropna(subset=['extraction_s'])\n"
             "kinds = [k for k in timed['type'].cat.categories if (timed['type'] == k).any()]\n"
             "fig, ax = plt.subplots(figsize=(6, 3))\n"
             "for i, kind in enumerate(kinds):\n"
             "    seconds = timed.loc[timed['type'] == kind, 'extraction_s'].astype(float)\n"
             "    ax.scatter([i] * len(seconds), seconds, alpha=0.7)\n"
             "    ax.hlines(seconds.median(), i - 0.3, i + 0.3, color='black')\n"
             "ax.set_xticks(range(len(kinds)), kinds)\n"
             "ax.set_ylabel('extraction time (s)')\n"
             "ax.set_title('Extraction time per type')\n"
             "plt.show()\n"
             "timed.groupby('type', observed=True)['extraction_s'].describe()"),
    ("md", "## Thumbnails\n\nEvery image's thumbnail inline, then one record in full: "
           "`fp.record(key)` displays its thumbnail, facts and the first lines of its text."),
    ("code", "import base64\n\n"
             "tiles = []\n"
             "for key in df.loc[(df['type'] == 'image') & (df['state'] == 'done'), 'key']:\n"
             "    view = fp.record(key)\n"
             "    if view.thumbnail:\n"
             "        data = base64.b64encode(view.thumbnail).decode()\n"
             "        tiles.append(f\"<figure style='display:inline-block;margin:4px'>"
             "<img src='data:image/png;base64,{data}' style='max-height:160px'>"
             "<figcaption>{view.name}</figcaption></figure>\")\n"
             "display(HTML(''.join(tiles)))\n"
             "documents = df[(df['type'] == 'document') & (df['state'] == 'done')]\n"
             "fp.record(documents.dropna(subset=['thumbnail'])['key'].iloc[0])"),
    ("md", "## A transcript with timestamps"),
    ("code", "audio = df[(df['type'] == 'audio') & (df['state'] == 'done')]\n"
             "speech = fp.record(audio['key'].iloc[0])\n"
             "display(speech)\n"
             "speech.segments"),
    ("md", "## Search\n\nBy words and by meaning at once: a record holding every word "
           "ranks high, and so does one saying the same in other words (all-MiniLM-L6-v2, "
           "run offline). Each hit shows the passage that matched, its place (page, slide, "
           "heading or minute) and a link to it. `mode='words'` keeps to the words. The same "
           "order on SQLite and PostgreSQL."),
    ("code", "fp.search('policy')[['rank', 'name', 'place', 'passage', 'link']]"),
    ("code", "fp.search('when can I bring books back', limit=5)"
             "[['rank', 'name', 'place', 'passage']]"),
    ("code", "fp.search('morning', limit=5, mode='words')[['rank', 'name', 'type', "
             "'description']]"),
    ("code", "fp.similar(fp.search('policy')['key'].iloc[0], limit=3)"
             "[['rank', 'name', 'similarity', 'passage']]"),
    ("md", "## Reading a scan again with another OCR language\n\n"
           "The stored object of a scanned document, read again by tesseract with German "
           "instead of the configured English, and the words that came out differently. "
           "(`fp.process(paths, ocr_language='deu')` does the same for new files, through "
           "the assets.)"),
    ("code", "scans = documents[documents['details'].map(lambda d: d.get('source') == 'ocr')]\n"
             "scan = fp.record(scans['key'].iloc[0])\n"
             "stored = Path(unquote(urlsplit(scan.location).path))\n"
             "again = fp.describe_path(stored, fp.ExtractOptions(ocr_language='deu'))\n"
             "before, after = scan.text.split(), again.text.split()\n"
             "changes = [(' '.join(before[i1:i2]), ' '.join(after[j1:j2]))\n"
             "           for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, before, after)"
             ".get_opcodes()\n"
             "           if op != 'equal']\n"
             "print(f'{scan.name}: {len(before)} words with eng, {len(after)} with deu, '\n"
             "      f'{len(changes)} places differ')\n"
             "pd.DataFrame(changes, columns=['eng', 'deu']).head(15)"),
]


def main() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md"
                      else nbformat.v4.new_code_cell(src) for kind, src in CELLS]
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{number:02d}"  # stable ids: regenerating changes nothing
    target = Path(__file__).resolve().parents[1] / "notebooks" / "explore_results.ipynb"
    nbformat.write(notebook, target)


if __name__ == "__main__":
    main()
