"""Service layer: plain Python over SQLAlchemy sessions. Never imports streamlit; never commits."""
