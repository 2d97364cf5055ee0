"""SCAN: the course's files read into lessons, directives and settings, every problem at its file and line."""

from __future__ import annotations



