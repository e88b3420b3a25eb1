"""The app's icons, style sheet, desktop entry and AppStream metainfo (data only).

This folder sits at the top of the repository; wheels and the PyInstaller bundle
install it as the package ``segdesk.resources`` (setup.py's package-dir mapping,
build.spec's datas), so ``importlib.resources.files("segdesk.resources")`` finds it.
"""
