"""Picklist values the shipped org schema defines (docs/CONTRACTS.md §1).

Used only to warn about values a rule names that no partner can ever carry; an org
may extend its picklists, so these never make a rule file invalid.
"""
from __future__ import annotations

TIERS = ("Registered", "Silver", "Gold", "Platinum")  # lowest to highest
ROLES = ("Reseller", "Distributor")
PROGRAMS = ("Preferred", "Cloud", "MSP", "Enterprise", "Public Sector")
CERTIFICATIONS = ("AWS Migration", "Azure Migration", "GCP Migration", "Security", "Data Analytics",
                  "Networking", "SAP", "Kubernetes")
PRODUCTS = ("Cloud Migration", "Data Platform", "Security Suite", "Analytics", "Networking",
            "Managed Services", "ERP Connector", "Edge Devices")
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "nl", "ja")
INDUSTRIES = (
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction",
    "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental",
    "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance", "Machinery",
    "Manufacturing", "Media", "Not For Profit", "Other", "Recreation", "Retail", "Shipping", "Technology",
    "Telecommunications", "Transportation", "Utilities",
)
