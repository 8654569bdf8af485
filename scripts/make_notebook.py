"""Write notebooks/explore.ipynb from the cells below (keeps the notebook reviewable as code)."""

from pathlib import Path

import nbformat

CELLS = [
    ("md", "# Exploring fileproc results\n\nProcess a few files in this notebook with the same "
           "Dagster assets the daemon runs, then look at the records with pandas. Runs land in "
           "the configured Dagster instance, so they also show up in the UI."),
    ("code", "from pathlib import Path\n\nimport pandas as pd\nfrom IPython.display import Image, display\n\n"
             "import fileproc_dagster as fp\n\nsettings = fp.Settings.from_env()\n"
             "print('FILEPROC_HOME:', settings.home)"),
    ("md", "## Process the sample files in-process"),
    ("code", "samples = sorted(Path('../samples').glob('*'))\n"
             "outcomes = list(fp.process_paths(settings, samples))\n"
             "for outcome in outcomes:\n    print(outcome.summary())"),
    ("md", "## The records as a DataFrame"),
    ("code", "df = fp.records_frame(settings)\n"
             "df[['name', 'type', 'state', 'words', 'description']]"),
    ("code", "df.groupby(['type', 'state']).size().rename('files')"),
    ("md", "## Previews: thumbnails and transcripts"),
    ("code", "for _, row in df[df['details'].map(lambda d: bool(d) and 'thumbnail' in d)].iterrows():\n"
             "    print(row['name'])\n"
             "    display(Image(filename=row['details']['thumbnail'].removeprefix('file://')))"),
    ("code", "audio = df[df['type'] == 'audio'].iloc[0]\n"
             "pd.DataFrame(audio['details']['segments'])"),
    ("md", "## Just the extractors, no Dagster, no records"),
    ("code", "result = fp.describe_path(Path('../samples/notice_scan.png'))\n"
             "print(result.description)\nprint(result.text[:300])"),
]


def main() -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell(src) if kind == "md"
                      else nbformat.v4.new_code_cell(src) for kind, src in CELLS]
    nbformat.write(notebook, Path(__file__).resolve().parents[1] / "notebooks" / "explore.ipynb")


if __name__ == "__main__":
    main()
